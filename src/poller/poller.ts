import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PollerError, SluiceError, toSluiceError, ValidationError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { createPollerMetrics, type PollerMetrics } from '../metrics/registry.ts';
import type { JobQueue, JobToAdd } from '../queue/types.ts';
import type { OpenStorageOptions } from '../storage/open.ts';
import { Archiver, deferred } from './archive.ts';
import { detectFormat, parseRecords } from './parse.ts';
import { RecordSpool } from './record-spool.ts';
import { type ResolvedLocation, resolveSource, resolveTarget } from './source.ts';
import type { PollerStateStore } from './state.ts';

export interface PollerOptions {
  /** Watched location: `s3://bucket/prefix/` or a local directory. */
  source: string;
  queue: JobQueue;
  state: PollerStateStore;
  storageOptions?: OpenStorageOptions;
  /** Archive prefix (bucket root for S3, inside the directory for local) or a URL. @default 'processed/' */
  processedPrefix?: string;
  /** Prefix (or URL) for objects that fail to parse, with `<key>.error.json` beside them. @default 'failed/' */
  failedPrefix?: string;
  /** Objects younger than this are left for a later poll (they may still be written). @default 5000 */
  minAgeMs?: number;
  /** Objects processed at once (32 measured ~10 % faster than 16 against s3rver). @default 32 */
  concurrency?: number;
  /** Job name of every record. @default 'ingest_and_score_signal' */
  jobName?: string;
  /** JSON documents: one job (`document`) or one per array element (`records`). @default 'document' */
  jsonArray?: 'document' | 'records';
  /** Objects larger than this go to the failed prefix unread. @default 1 GiB */
  maxObjectBytes?: number;
  /** Stop taking new objects while the queue backlog is above this. @default 100000 */
  maxBacklog?: number;
  /** Per-object claim lease, renewed while the object is processed. @default 60000 */
  leaseMs?: number;
  /** Records per addBulk; objects with fewer records are enqueued all at once or not at all. @default 1000 */
  batchSize?: number;
  metrics?: PollerMetrics;
  onProgress?: (p: { operation: 'poll'; done: number; total?: number; unit: 'objects' }) => void;
}

export interface PollSummary {
  listed: number;
  archived: number;
  failed: number;
  /** Held by another poller, or younger than minAge. */
  deferred: number;
  records: number;
  jobsAdded: number;
}

interface Entry {
  key: string;
  size: number;
  mtime: Date;
  etag: string;
}

function positive(name: string, v: number | undefined, fallback: number, allowZero = false): number {
  const x = v ?? fallback;
  if (!Number.isFinite(x) || x < 0 || (!allowZero && x === 0)) {
    throw new ValidationError(
      `Poller option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`,
    );
  }
  return x;
}

/** The job id of one record: stable across restarts and pollers, so re-enqueueing is a no-op. */
export function recordJobId(scope: string, key: string, etag: string, n: number): string {
  return `r${createHash('sha256').update(`${scope}\n${key}\n${etag}\n${n}`).digest('hex').slice(0, 40)}`;
}

/** Watches a storage location and turns every record of every new object into a job. */
export class Poller {
  readonly metrics: PollerMetrics;
  private readonly source: ResolvedLocation;
  private readonly archiver: Archiver;
  private readonly o: Required<Omit<PollerOptions, 'metrics' | 'onProgress' | 'storageOptions'>>;
  private readonly onProgress: PollerOptions['onProgress'];
  private backlogCheckedAt = 0;
  private lastBacklog = 0;

  constructor(options: PollerOptions) {
    this.o = {
      source: options.source,
      queue: options.queue,
      state: options.state,
      processedPrefix: options.processedPrefix ?? 'processed/',
      failedPrefix: options.failedPrefix ?? 'failed/',
      minAgeMs: positive('minAgeMs', options.minAgeMs, 5000, true),
      concurrency: positive('concurrency', options.concurrency, 32),
      jobName: options.jobName ?? 'ingest_and_score_signal',
      jsonArray: options.jsonArray ?? 'document',
      maxObjectBytes: positive('maxObjectBytes', options.maxObjectBytes, 1024 ** 3),
      maxBacklog: positive('maxBacklog', options.maxBacklog, 100_000),
      leaseMs: positive('leaseMs', options.leaseMs, 60_000),
      batchSize: positive('batchSize', options.batchSize, 1000),
    };
    if (this.o.jsonArray !== 'document' && this.o.jsonArray !== 'records') {
      throw new ValidationError(
        `Poller option jsonArray must be 'document' or 'records', got ${String(this.o.jsonArray)}`,
      );
    }
    this.metrics = options.metrics ?? createPollerMetrics();
    this.onProgress = options.onProgress;
    this.source = resolveSource(options.source, options.storageOptions);
    this.archiver = new Archiver(
      this.source,
      resolveTarget(this.o.processedPrefix, this.source, options.storageOptions),
      resolveTarget(this.o.failedPrefix, this.source, options.storageOptions),
    );
  }

  private async waitForBacklog(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (Date.now() - this.backlogCheckedAt > 250) {
        this.lastBacklog = await this.o.queue.backlog();
        this.backlogCheckedAt = Date.now();
        this.metrics.backlog.set(this.lastBacklog);
      }
      if (this.lastBacklog <= this.o.maxBacklog || signal?.aborted) return;
      getLogger().info(
        { backlog: this.lastBacklog, max: this.o.maxBacklog },
        'queue backlog above bound, waiting',
      );
      await sleep(500, undefined, { signal }).catch(() => {});
    }
  }

  /** One pass over every listing page. With `signal` aborted, objects in flight finish first. */
  async pollOnce(signal?: AbortSignal): Promise<PollSummary> {
    const end = this.metrics.pollDuration.startTimer();
    const summary: PollSummary = { listed: 0, archived: 0, failed: 0, deferred: 0, records: 0, jobsAdded: 0 };
    // `running` holds one promise per busy slot; `tails` every object not yet finished.
    const running = new Set<Promise<void>>();
    const tails = new Set<Promise<void>>();
    let oldestPending = 0;
    let done = 0;
    try {
      for await (const entry of this.source.storage.list({ prefix: this.source.prefix, recursive: true })) {
        if (signal?.aborted) break;
        if (entry.type !== 'object' || this.archiver.excluded(entry.key) || !detectFormat(entry.key))
          continue;
        summary.listed++;
        const age = Date.now() - entry.mtime.getTime();
        if (age < this.o.minAgeMs) {
          summary.deferred++;
          oldestPending = Math.max(oldestPending, age);
          continue;
        }
        // Free a slot first, so the backlog we check includes what the finished objects added.
        while (running.size >= this.o.concurrency) await Promise.race(running);
        await this.waitForBacklog(signal);
        if (signal?.aborted) break;
        const slot = deferred();
        running.add(slot.promise);
        void slot.promise.then(() => running.delete(slot.promise));
        const p = this.processObject(
          entry,
          summary,
          age,
          (a) => {
            oldestPending = Math.max(oldestPending, a);
          },
          slot.resolve,
        ).finally(() => {
          slot.resolve();
          tails.delete(p);
          done++;
          this.onProgress?.({ operation: 'poll', done, unit: 'objects' });
        });
        tails.add(p);
      }
      void this.archiver.flush();
    } catch (error) {
      this.metrics.errors.inc({ kind: 'list' });
      void this.archiver.flush();
      await Promise.allSettled(tails);
      throw toSluiceError(error, 'E061');
    }
    await Promise.allSettled(tails);
    this.metrics.oldestPending.set(oldestPending / 1000);
    try {
      this.lastBacklog = await this.o.queue.backlog();
      this.backlogCheckedAt = Date.now();
      this.metrics.backlog.set(this.lastBacklog);
    } catch (error) {
      this.metrics.errors.inc({ kind: 'queue' });
      getLogger().warn({ err: String(error) }, 'cannot read the queue backlog');
    }
    end();
    return summary;
  }

  private async processObject(
    entry: Entry,
    summary: PollSummary,
    age: number,
    pending: (ageMs: number) => void,
    releaseSlot: () => void,
  ): Promise<void> {
    const { state } = this.o;
    const log = getLogger();
    let claim: Awaited<ReturnType<PollerStateStore['claim']>>;
    try {
      claim = await state.claim(entry.key, entry.etag, this.o.leaseMs);
    } catch (error) {
      this.metrics.errors.inc({ kind: 'state' });
      log.warn({ key: entry.key, err: String(error) }, 'cannot claim object; retrying next poll');
      pending(age);
      return;
    }
    if (!claim.claimed) {
      if (!claim.status) {
        summary.deferred++;
        this.metrics.objects.inc({ outcome: 'claimed_elsewhere' });
      }
      return;
    }
    const renew = setInterval(
      () => void state.renew(entry.key, entry.etag, this.o.leaseMs).catch(() => {}),
      Math.max(50, this.o.leaseMs / 3),
    );
    let stage = 'enqueue';
    let marking: Promise<void> | undefined;
    try {
      if (claim.status !== 'enqueued') {
        if (entry.size > this.o.maxObjectBytes) {
          throw new PollerError(
            `${entry.key} is ${entry.size} bytes, above the per-object limit maxObjectBytes=${this.o.maxObjectBytes}`,
            { context: { key: entry.key, size: entry.size } },
          );
        }
        const counted = await this.enqueueRecords(entry);
        summary.records += counted.records;
        summary.jobsAdded += counted.added;
        // Count our own additions until the next real check, so concurrent objects see them.
        this.lastBacklog += counted.added;
        this.metrics.records.inc(counted.records);
        marking = state.mark(entry.key, entry.etag, 'enqueued');
      }
      stage = 'archive';
      // The `enqueued` mark runs alongside the archive copy: it only saves a re-parse after a
      // crash (the job ids already make a second enqueue a no-op).
      await Promise.all([marking, this.archiver.archive(entry.key, releaseSlot)]);
      await state.mark(entry.key, entry.etag, 'done');
      summary.archived++;
      this.metrics.objects.inc({ outcome: 'archived' });
    } catch (error) {
      const err = toSluiceError(error, 'E061');
      const permanent =
        stage === 'enqueue' && (err.code === 'E021' || (err.code === 'E061' && !err.context.retryable));
      if (permanent) {
        try {
          await this.archiver.fail(entry, err);
          await state.mark(entry.key, entry.etag, 'failed');
          summary.failed++;
          this.metrics.objects.inc({ outcome: 'failed' });
          this.metrics.errors.inc({ kind: 'parse' });
          log.warn(
            { key: entry.key, code: err.code, err: err.message },
            'object failed; moved to the failed prefix',
          );
          return;
        } catch (moveError) {
          log.error(
            { key: entry.key, err: String(moveError) },
            'cannot move failed object; retrying next poll',
          );
        }
      } else {
        log.warn(
          { key: entry.key, stage, code: err.code, err: err.message },
          'transient failure; retrying next poll',
        );
      }
      this.metrics.errors.inc({ kind: stage });
      pending(age);
      await state.release(entry.key, entry.etag).catch(() => {});
    } finally {
      clearInterval(renew);
    }
  }

  /**
   * Parses the whole object before the first record is enqueued: a broken object (bad row 900,000
   * included) goes to the failed prefix with none of its records queued.
   */
  private async enqueueRecords(entry: Entry): Promise<{ records: number; added: number }> {
    const scope = this.source.storage.url;
    const body = await this.source.storage.getStream(entry.key);
    const spool = new RecordSpool(Math.max(this.o.batchSize, 10_000));
    try {
      try {
        for await (const rec of parseRecords(body, entry.key, { jsonArray: this.o.jsonArray })) {
          await spool.add(rec.record);
        }
      } catch (error) {
        if (error instanceof SluiceError) error.context.recordsEnqueued = 0;
        throw error;
      }
      let n = 0;
      let added = 0;
      for await (const records of spool.batches(this.o.batchSize)) {
        const batch: JobToAdd[] = records.map((data) => ({
          id: recordJobId(scope, entry.key, entry.etag, ++n),
          name: this.o.jobName,
          data,
        }));
        added += await this.o.queue.addBulk(batch);
      }
      return { records: spool.size, added };
    } finally {
      await spool.close();
    }
  }

  /** Polls every `intervalMs` until `signal` aborts; objects in flight finish first. */
  async run(options: { intervalMs: number; signal?: AbortSignal }): Promise<void> {
    const log = getLogger();
    while (!options.signal?.aborted) {
      try {
        const s = await this.pollOnce(options.signal);
        log.info(s, 'poll finished');
      } catch (error) {
        log.error({ err: String(error) }, 'poll failed; retrying after the interval');
      }
      await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.archiver.close();
  }
}
