import { createRequire } from 'node:module';
import type { ConnectionOptions, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../backends/redis.ts';
import { QueueError, ValidationError } from '../../errors.ts';
import { maskError, maskSecretsInString } from '../../secrets/mask.ts';
import { EnvironmentWaits, isEnvironmentFailure } from '../environment-wait.ts';
import { checkRetention } from '../retention.ts';
import {
  type ConsumeOptions,
  emptyCounts,
  isPermanentJobError,
  type Job,
  type JobHandler,
  type JobQueue,
  type JobSource,
  type JobToAdd,
  type QueueOptions,
} from '../types.ts';
import { abortable, type RunState, stopWorker, untilStopped } from './bullmq/run.ts';
import { readDeadJobs, readingWorker, tornDataError } from './bullmq/torn.ts';

const require = createRequire(import.meta.url);
/**
 * BullMQ loads when a Redis queue first connects, not with this module: opening a SQLite queue,
 * or `import 'sluice/queue'` for types, never pays for BullMQ and ioredis (~150 ms).
 */
const bullmq = () => require('bullmq') as typeof import('bullmq');

export interface BullmqQueueOptions extends QueueOptions {
  /** `redis://host:port/db`. */
  url: string;
  /** Redis key prefix of every BullMQ key. @default 'bull' */
  prefix?: string;
  /** Bound on reaching Redis: the first operation fails with E060 (URL masked) after it. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * How long a job's lock lasts unless renewed (BullMQ's `lockDuration`, renewed every half of it),
   * and how often a consumer looks for jobs whose lock ran out (`stalledInterval`): the jobs of a
   * consumer that died (kill -9, a lost host) run again one to two leases later. @default 30000
   */
  leaseMs?: number;
  /**
   * Once consume()'s signal aborts, jobs in flight get this long to finish; the rest are moved
   * back to waiting (another worker, or the next run, takes them at once). @default 700
   */
  stopGraceMs?: number;
}

/** BullMQ rejects ':' in custom ids and purely numeric ones; poller ids are hex digests. */
function checkId(id: string): void {
  if (typeof id !== 'string' || id === '' || id.includes(':') || /^\d+$/.test(id)) {
    throw new ValidationError(
      `Job id ${JSON.stringify(id)} is not valid for the bullmq driver: use a non-numeric string without ':'`,
    );
  }
}

// Producer commands wait through this many reconnections (~26 s with the backoff) and then fail,
// so a poller sees a transient error instead of hanging; workers block and must wait for ever.
const PRODUCER_RETRIES = 10;

/** A JobQueue on Redis through BullMQ, for consumers on several machines. */
export function createBullmqQueue(options: BullmqQueueOptions): JobQueue {
  const name = options.name ?? 'sluice';
  const prefix = options.prefix ?? 'bull';
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  const stopGraceMs = options.stopGraceMs ?? 700;
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isInteger(leaseMs) || leaseMs < 100) {
    throw new ValidationError(`Queue option leaseMs must be an integer ≥ 100 ms, got ${String(leaseMs)}`);
  }
  if (!Number.isInteger(attempts) || attempts <= 0) {
    throw new ValidationError(`Queue option attempts must be a positive integer, got ${String(attempts)}`);
  }
  if (!Number.isFinite(stopGraceMs) || stopGraceMs < 0) {
    throw new ValidationError(`Queue option stopGraceMs must be ≥ 0 ms, got ${String(stopGraceMs)}`);
  }
  // close() stops connections still being made, so it never waits out the connect timeout.
  const closing = new AbortController();
  const connect = (maxRetriesPerRequest: number | null, signal?: AbortSignal) =>
    connectRedis(options.url, {
      purpose: `Redis for queue ${name}`,
      maxRetriesPerRequest,
      signal: signal ? AbortSignal.any([signal, closing.signal]) : closing.signal,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
  // Connected on first use: openQueue stays synchronous, and every operation fails with E060
  // within the connect timeout when Redis cannot be reached.
  let backend: Promise<{ connection: Redis; queue: Queue }> | undefined;
  const open = () => {
    backend ??= connect(PRODUCER_RETRIES).then(
      (connection) => {
        const queue = new (bullmq().Queue)(name, {
          connection: connection as unknown as ConnectionOptions,
          prefix,
        });
        queue.on('error', () => {
          // Reported once per interval by the connection's own watcher (backends/redis.ts).
        });
        return { connection, queue };
      },
      (error: unknown) => {
        backend = undefined; // the next operation tries again
        throw error;
      },
    );
    return backend;
  };
  const workers = new Set<Worker>();
  const stoppers = new Set<() => void>();
  const jobOpts = {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: false,
    removeOnFail: false,
  };
  let closed = false;

  const wrap = async <T>(what: string, fn: (queue: Queue, connection: Redis) => Promise<T>): Promise<T> => {
    if (closed) throw new QueueError(`Queue ${name} (redis) is closed`);
    const { queue, connection } = await open();
    try {
      return await fn(queue, connection);
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new QueueError(`Queue ${name}: ${what} failed on Redis: ${(error as Error).message}`, {
        cause: error,
        context: { queue: name, retryable: true },
      });
    }
  };

  const countNew = async (connection: Redis, ids: readonly string[]): Promise<number> => {
    const pipe = connection.pipeline();
    for (const id of ids) pipe.exists(`${prefix}:${name}:${id}`);
    const res = (await pipe.exec()) ?? [];
    return res.filter(([, v]) => v === 0).length;
  };

  const counts = async (queue: Queue) => {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    const out = emptyCounts();
    out.waiting = (c.waiting ?? 0) + (c.prioritized ?? 0);
    out.active = c.active ?? 0;
    out.delayed = c.delayed ?? 0;
    out.completed = c.completed ?? 0;
    out.dead = c.failed ?? 0;
    out.failed = out.dead;
    return out;
  };

  const self: JobQueue = {
    kind: 'bullmq',
    name,
    async add(job) {
      return (await self.addBulk([job])) === 1;
    },
    async addBulk(jobs: readonly JobToAdd[]) {
      if (jobs.length === 0) return 0;
      for (const j of jobs) checkId(j.id);
      return wrap('addBulk', async (queue, connection) => {
        // Sent first on the same connection, so Redis answers EXISTS before it runs the adds;
        // both go out together (one round trip instead of two).
        const [fresh] = await Promise.all([
          countNew(
            connection,
            jobs.map((j) => j.id),
          ),
          queue.addBulk(
            jobs.map((j) => ({ name: j.name, data: wrapData(j), opts: { ...jobOpts, jobId: j.id } })),
          ),
        ]);
        return fresh;
      });
    },
    counts: () => wrap('counts', counts),
    async backlog() {
      const c = await wrap('counts', counts);
      return c.waiting + c.delayed + c.active;
    },
    async consume(handler: JobHandler, opts: ConsumeOptions = {}) {
      if (closed) throw new QueueError(`Queue ${name} (redis) is closed`);
      // Both connections are made before the worker starts: Redis down is E060, not a hang; a
      // stop while connecting just returns.
      let queue: Queue;
      let workerConnection: Redis;
      try {
        ({ queue } = await abortable(open(), opts.signal));
        workerConnection = await connect(null, opts.signal);
      } catch (error) {
        if (opts.signal?.aborted) return;
        throw error;
      }
      const run: RunState = { inFlight: new Map(), released: new Set(), stopping: false };
      const waits = new EnvironmentWaits(backoffMs);
      const worker = new (readingWorker(bullmq().Worker))(
        name,
        async (bjob, token) => {
          const job: Job = {
            id: String(bjob.id),
            name: bjob.name,
            ...unwrapData(bjob.data),
            attempt: bjob.attemptsMade + 1,
          };
          if (run.stopping) {
            // Fetched while stopping: straight back to waiting, the handler never sees it.
            run.released.add(job.id);
            await bjob.moveToWait(token);
            throw new (bullmq().WaitingError)();
          }
          run.inFlight.set(job.id, { job: bjob, token });
          try {
            const torn = tornDataError(job.id, job.data);
            if (torn) throw torn;
            await handler(job);
            waits.forget(job.id);
          } catch (error) {
            if (run.released.has(job.id)) throw new (bullmq().WaitingError)();
            if (isEnvironmentFailure(error)) {
              // Delayed without a failed attempt (environment-wait.ts); BullMQ keeps the message
              // only for failures, so the worker's log says why it waits.
              const moved = await bjob
                .moveToDelayed(Date.now() + waits.next(job.id).waitMs, token)
                .then(() => true)
                .catch(() => false);
              if (moved) {
                opts.onJob?.({ job, outcome: 'wait', error });
                throw new (bullmq().DelayedError)();
              }
              // Not delayed (Redis is gone too): an ordinary failure below, which BullMQ records
              // if Redis is back, or the job returns as stalled once its lock expires.
            }
            waits.forget(job.id);
            const permanent = isPermanentJobError(error);
            const dead = permanent || job.attempt >= attempts;
            opts.onJob?.({ job, outcome: dead ? 'dead' : 'retry', error });
            // BullMQ stores the message and stack with the job (`queue dead` lists them): masked.
            if (permanent)
              throw new (bullmq().UnrecoverableError)(
                maskSecretsInString(error instanceof Error ? error.message : String(error)),
              );
            throw error instanceof Error ? maskError(error) : new Error(maskSecretsInString(String(error)));
          } finally {
            run.inFlight.delete(job.id);
          }
          // Released while running: the job is waiting again; BullMQ must not complete it.
          if (run.released.has(job.id)) throw new (bullmq().WaitingError)();
          opts.onJob?.({ job, outcome: 'completed' });
        },
        {
          connection: workerConnection as unknown as ConnectionOptions,
          prefix,
          concurrency: opts.concurrency ?? 1,
          autorun: true,
          lockDuration: leaseMs,
          stalledInterval: leaseMs,
          // A job whose consumer died is run again up to `attempts` times, as the SQLite queue
          // counts an expired lease as an attempt; BullMQ's default failed it at the second stall.
          maxStalledCount: attempts,
        },
      );
      workers.add(worker);
      worker.on('error', () => {
        // Connection hiccups surface here; the connection watcher logs them once per interval.
      });
      const local = new AbortController();
      const stopLocal = () => local.abort();
      stoppers.add(stopLocal);
      const signal = opts.signal ? AbortSignal.any([opts.signal, local.signal]) : local.signal;
      try {
        await untilStopped({ ...opts, signal }, () => counts(queue));
        await stopWorker(worker, run, stopGraceMs);
      } finally {
        stoppers.delete(stopLocal);
        workers.delete(worker);
        workerConnection.disconnect();
      }
    },
    async listDead(limit = 100) {
      return wrap('listDead', (queue, connection) =>
        readDeadJobs(queue, connection, limit, (stored) => unwrapData(stored).data),
      );
    },
    async retryDead(ids) {
      return wrap('retryDead', async (queue) => {
        let n = 0;
        for (const id of ids ?? (await queue.getRanges(['failed'], 0, -1, false))) {
          // A job whose data cannot be read would only be dead-lettered again (bullmq/torn.ts).
          const j = await queue.getJob(id).catch(() => undefined);
          if (!j || (await j.getState()) !== 'failed') continue;
          await j.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          n++;
        }
        return n;
      });
    },
    async pruneCompleted(olderThanMs) {
      checkRetention(olderThanMs);
      return wrap('pruneCompleted', async (queue) => {
        let total = 0;
        for (;;) {
          // clean() removes jobs finished more than `grace` ms ago, at most `limit` per call.
          const removed = await queue.clean(olderThanMs, 1000, 'completed');
          total += removed.length;
          if (removed.length < 1000) return total;
        }
      });
    },
    async purgeDead() {
      return wrap('purgeDead', async (queue) => {
        let total = 0;
        for (;;) {
          const removed = await queue.clean(0, 1000, 'failed');
          total += removed.length;
          if (removed.length < 1000) return total;
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      for (const stop of stoppers) stop();
      await Promise.allSettled([...workers].map((w) => w.close(true)));
      const opened = await backend?.catch(() => undefined);
      if (!opened) return;
      await opened.queue.close().catch(() => {});
      opened.connection.disconnect();
    },
  };
  return self;
}

/**
 * A job that names its source object is stored as `{ __sluiceJob: 1, data, source }` (BullMQ keeps
 * only the data); handlers and `queue dead` see the data as it was added.
 */
function wrapData(job: JobToAdd): unknown {
  return job.source ? { __sluiceJob: 1, data: job.data, source: job.source } : job.data;
}

function unwrapData(stored: unknown): { data: unknown; source?: JobSource } {
  const s = stored as { __sluiceJob?: unknown; data?: unknown; source?: JobSource } | null;
  if (s && typeof s === 'object' && s.__sluiceJob === 1 && s.source)
    return { data: s.data, source: s.source };
  return { data: stored };
}
