import { type ConnectionOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueError, ValidationError } from '../../errors.ts';
import { checkRetention } from '../retention.ts';
import {
  type ConsumeOptions,
  type DeadJob,
  emptyCounts,
  isPermanentJobError,
  type Job,
  type JobHandler,
  type JobQueue,
  type JobToAdd,
  type QueueOptions,
} from '../types.ts';

export interface BullmqQueueOptions extends QueueOptions {
  /** `redis://host:port/db`. */
  url: string;
  /** Redis key prefix of every BullMQ key. @default 'bull' */
  prefix?: string;
}

/** BullMQ rejects ':' in custom ids and purely numeric ones; poller ids are hex digests. */
function checkId(id: string): void {
  if (typeof id !== 'string' || id === '' || id.includes(':') || /^\d+$/.test(id)) {
    throw new ValidationError(
      `Job id ${JSON.stringify(id)} is not valid for the bullmq driver: use a non-numeric string without ':'`,
    );
  }
}

/** A connection BullMQ can block on; ESM needs a constructed client, not options. */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** A JobQueue on Redis through BullMQ, for consumers on several machines. */
export function createBullmqQueue(options: BullmqQueueOptions): JobQueue {
  const name = options.name ?? 'sluice';
  const prefix = options.prefix ?? 'bull';
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  if (!Number.isInteger(attempts) || attempts <= 0) {
    throw new ValidationError(`Queue option attempts must be a positive integer, got ${String(attempts)}`);
  }
  const connection = createRedis(options.url);
  const queue = new Queue(name, { connection: connection as unknown as ConnectionOptions, prefix });
  const workers = new Set<Worker>();
  const jobOpts = {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: false,
    removeOnFail: false,
  };
  let closed = false;

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new QueueError(`Queue ${name} (redis) is closed`);
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new QueueError(`Queue ${name}: ${what} failed on Redis: ${(error as Error).message}`, {
        cause: error,
        context: { queue: name, retryable: true },
      });
    }
  };

  const countNew = async (ids: readonly string[]): Promise<number> => {
    const pipe = connection.pipeline();
    for (const id of ids) pipe.exists(`${prefix}:${name}:${id}`);
    const res = (await pipe.exec()) ?? [];
    return res.filter(([, v]) => v === 0).length;
  };

  const counts = async () => {
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
      return wrap('addBulk', async () => {
        // Sent first on the same connection, so Redis answers EXISTS before it runs the adds;
        // both go out together (one round trip instead of two).
        const [fresh] = await Promise.all([
          countNew(jobs.map((j) => j.id)),
          queue.addBulk(jobs.map((j) => ({ name: j.name, data: j.data, opts: { ...jobOpts, jobId: j.id } }))),
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
      const workerConnection = createRedis(options.url);
      const worker = new Worker(
        name,
        async (bjob) => {
          const job: Job = {
            id: String(bjob.id),
            name: bjob.name,
            data: bjob.data,
            attempt: bjob.attemptsMade + 1,
          };
          try {
            await handler(job);
            opts.onJob?.({ job, outcome: 'completed' });
          } catch (error) {
            const permanent = isPermanentJobError(error);
            const dead = permanent || job.attempt >= attempts;
            opts.onJob?.({ job, outcome: dead ? 'dead' : 'retry', error });
            if (permanent)
              throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
            throw error;
          }
        },
        {
          connection: workerConnection as unknown as ConnectionOptions,
          prefix,
          concurrency: opts.concurrency ?? 1,
          autorun: true,
        },
      );
      workers.add(worker);
      worker.on('error', () => {
        // Connection hiccups surface here; ioredis reconnects on its own.
      });
      try {
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          opts.signal?.addEventListener('abort', stop, { once: true });
          if (opts.signal?.aborted) stop();
          if (opts.drain) {
            const tick = async () => {
              if (closed) return stop();
              try {
                const c = await counts();
                if (c.waiting + c.delayed + c.active === 0) return stop();
              } catch {
                // Retry at the next tick.
              }
              setTimeout(tick, 100);
            };
            setTimeout(tick, 50);
          }
        });
      } finally {
        await worker.close();
        workers.delete(worker);
        workerConnection.disconnect();
      }
    },
    async listDead(limit = 100) {
      return wrap('listDead', async () => {
        const jobs = await queue.getFailed(0, limit - 1);
        return jobs.map(
          (j): DeadJob => ({
            id: String(j.id),
            name: j.name,
            data: j.data,
            attempts: j.attemptsMade,
            error: j.failedReason ?? '',
          }),
        );
      });
    },
    async retryDead(ids) {
      return wrap('retryDead', async () => {
        const jobs = ids
          ? (await Promise.all(ids.map((id) => queue.getJob(id)))).filter((j) => j !== undefined)
          : await queue.getFailed(0, -1);
        let n = 0;
        for (const j of jobs) {
          if ((await j.getState()) !== 'failed') continue;
          await j.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          n++;
        }
        return n;
      });
    },
    async pruneCompleted(olderThanMs) {
      checkRetention(olderThanMs);
      return wrap('pruneCompleted', async () => {
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
      return wrap('purgeDead', async () => {
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
      await Promise.allSettled([...workers].map((w) => w.close()));
      await queue.close();
      connection.disconnect();
    },
  };
  return self;
}
