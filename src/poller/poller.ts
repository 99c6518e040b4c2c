import { setTimeout as sleep } from 'node:timers/promises';
import { classifyFailure, PollerError, toSluiceError, ValidationError } from '../errors.ts';
import { lineageEnabled, outputUrl } from '../lineage/index.ts';
import { getLogger } from '../logging/logger.ts';
import { createPollerMetrics, type PollerMetrics } from '../metrics/registry.ts';
import type { JobToAdd } from '../queue/types.ts';
import { readFaultOf } from '../storage/verified-read.ts';
import { type ArchiveOutcome, Archiver, deferred } from './archive.ts';
import { CycleProgress } from './cycle-progress.ts';
import { type PollerOptions, type PollSummary, positive } from './options.ts';
import { detectFormat } from './parse.ts';
import { readRecords, recordJobId } from './read-records.ts';
import { vanishedSinceListed } from './replaced.ts';
import { type ResolvedLocation, resolveSource, resolveTarget } from './source.ts';
import type { PollerStateStore } from './state.ts';
import { listResuming, retryTransient, type TransientPolicy } from './transient.ts';

export type { PollerOptions, PollSummary } from './options.ts';

/** Where an object's handling failed: steers what a failure means and labels the metrics. */
type Stage = 'read' | 'enqueue' | 'archive' | 'state';

interface Entry {
  key: string;
  size: number;
  mtime: Date;
  etag: string;
  sha256?: string; // of the bytes read, once read whole (lineage)
}

export { recordJobId } from './read-records.ts';

/** Watches a storage location and turns every record of every new object into a job. */
export class Poller {
  readonly metrics: PollerMetrics;
  private readonly source: ResolvedLocation;
  private readonly archiver: Archiver;
  private readonly o: Required<Omit<PollerOptions, 'metrics' | 'onProgress' | 'storageOptions' | 'lineage'>>;
  private readonly onProgress: PollerOptions['onProgress'];
  private readonly policy: TransientPolicy;
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
      maxRecordBytes: positive('maxRecordBytes', options.maxRecordBytes, 64 * 1024 * 1024),
      maxRecordBytesName: options.maxRecordBytesName ?? 'maxRecordBytes',
      maxBacklog: positive('maxBacklog', options.maxBacklog, 100_000),
      leaseMs: positive('leaseMs', options.leaseMs, 60_000),
      batchSize: positive('batchSize', options.batchSize, 1000),
      transientAttempts: positive('transientAttempts', options.transientAttempts, 3),
      retryDelayMs: positive('retryDelayMs', options.retryDelayMs, 500, true),
      readIdleTimeoutMs: positive('readIdleTimeoutMs', options.readIdleTimeoutMs, 60_000),
    };
    if (!Number.isInteger(this.o.transientAttempts)) {
      throw new ValidationError(
        `Poller option transientAttempts must be a whole number ≥ 1, got ${String(options.transientAttempts)}`,
      );
    }
    if (this.o.jsonArray !== 'document' && this.o.jsonArray !== 'records') {
      throw new ValidationError(
        `Poller option jsonArray must be 'document' or 'records', got ${String(this.o.jsonArray)}`,
      );
    }
    this.policy = { attempts: this.o.transientAttempts, delayMs: this.o.retryDelayMs };
    this.metrics = options.metrics ?? createPollerMetrics();
    this.onProgress = options.onProgress;
    this.source = resolveSource(options.source, options.storageOptions);
    this.archiver = new Archiver(
      this.source,
      resolveTarget(this.o.processedPrefix, this.source, options.storageOptions),
      resolveTarget(this.o.failedPrefix, this.source, options.storageOptions),
      options.lineage ?? lineageEnabled(),
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
    const summary: PollSummary = {
      listed: 0,
      archived: 0,
      replaced: 0,
      failed: 0,
      deferred: 0,
      retries: 0,
      records: 0,
      jobsAdded: 0,
    };
    // `running` holds one promise per busy slot; `tails` every object not yet finished.
    const running = new Set<Promise<void>>();
    const tails = new Set<Promise<void>>();
    let oldestPending = 0;
    const progress = new CycleProgress(this.onProgress);
    try {
      const listing = listResuming(
        this.source.storage,
        this.source.prefix,
        { ...this.policy, ...(signal ? { signal } : {}) },
        this.onRetry(summary, () => 'list'),
      );
      for await (const entry of listing) {
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
        });
        tails.add(progress.track(p));
      }
      progress.listingEnded();
      this.archiver.endListing(this.metrics.errors);
    } catch (error) {
      this.metrics.errors.inc({ kind: 'list' });
      this.archiver.endListing(this.metrics.errors);
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
    let claim: Awaited<ReturnType<PollerStateStore['claim']>>;
    try {
      claim = await this.withRetries(
        summary,
        () => 'claim',
        () => state.claim(entry.key, entry.etag, this.o.leaseMs),
      );
    } catch (error) {
      this.metrics.errors.inc({ kind: 'state' });
      this.defer(entry, summary, 'claim', error);
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
    // What earlier attempts finished: a retry never reads again what is already queued.
    const done = { enqueued: claim.status === 'enqueued', archived: undefined as ArchiveOutcome | undefined };
    // Set from inside the attempts (TypeScript cannot see that, hence the cast).
    let stage = 'read' as Stage;
    try {
      await this.withRetries(
        summary,
        () => stage,
        async () => {
          let marking: Promise<void> | undefined;
          if (!done.enqueued) {
            stage = 'read';
            if (entry.size > this.o.maxObjectBytes) {
              throw new PollerError(
                `${entry.key} is ${entry.size} bytes, above the per-object limit maxObjectBytes=${this.o.maxObjectBytes}`,
                { context: { key: entry.key, size: entry.size, limit: 'maxObjectBytes', retryable: false } },
              );
            }
            const records = await this.enqueueRecords(entry, summary, () => {
              stage = 'enqueue';
            });
            summary.records += records;
            this.metrics.records.inc(records);
            done.enqueued = true;
            marking = state.mark(entry.key, entry.etag, 'enqueued');
          }
          if (!done.archived) {
            stage = 'archive';
            // The `enqueued` mark runs alongside the archive copy: it only saves a re-parse after a
            // crash (the job ids already make a second enqueue a no-op).
            [, done.archived] = await Promise.all([marking, this.archiver.archive(entry, releaseSlot)]);
          }
          stage = 'state';
          await state.mark(entry.key, entry.etag, 'done');
        },
      );
      summary[done.archived ?? 'archived']++;
      this.metrics.objects.inc({ outcome: done.archived ?? 'archived' });
    } catch (error) {
      if (await this.failPermanently(entry, error, stage, summary)) return;
      this.metrics.errors.inc({ kind: stage });
      if (stage === 'state') {
        // Queued and archived (or replaced): only the `done` mark is missing; it is not listed again.
        summary[done.archived ?? 'archived']++;
        this.metrics.objects.inc({ outcome: done.archived ?? 'archived' });
        getLogger().warn({ key: entry.key, err: String(error) }, 'archived, but cannot mark it done');
      } else if (stage !== 'read' || !vanishedSinceListed(entry, error)) {
        this.defer(entry, summary, stage, error);
        pending(age);
      }
      await state.release(entry.key, entry.etag).catch(() => {});
    } finally {
      clearInterval(renew);
    }
  }

  /**
   * Only a permanent failure caused by the object itself (its format, a size limit) moves it to
   * the failed prefix and marks it failed; anything else leaves it for the next poll. True once moved.
   */
  private async failPermanently(
    entry: Entry,
    error: unknown,
    stage: Stage,
    summary: PollSummary,
  ): Promise<boolean> {
    const err = toSluiceError(error, 'E061');
    const content = err.code === 'E021' || err.context.limit !== undefined;
    if (stage !== 'read' || !content || classifyFailure(err) !== 'permanent') return false;
    // Once moved (or replaced), a retry only repeats the mark (the version read is gone from in/).
    let moved = undefined as 'failed' | 'replaced' | undefined;
    try {
      await this.withRetries(
        summary,
        () => 'fail',
        async () => {
          moved ??= await this.archiver.fail(entry, err);
          await this.o.state.mark(entry.key, entry.etag, 'failed');
        },
      );
    } catch (moveError) {
      // Moved (in failed/ with its report, no longer listed): only the `failed` mark is missing.
      const log = { key: entry.key, err: String(moveError) };
      if (!moved) {
        getLogger().error(log, 'cannot move failed object; retrying next poll');
        return false;
      }
      this.metrics.errors.inc({ kind: 'state' });
      getLogger().warn(log, 'object moved to the failed prefix; its state record could not be updated');
    }
    const outcome = moved ?? 'failed';
    summary[outcome]++;
    this.metrics.objects.inc({ outcome });
    this.metrics.errors.inc({ kind: 'parse' });
    getLogger().warn(
      { key: entry.key, code: err.code, err: err.message },
      outcome === 'failed' ? 'object failed; moved to the failed prefix' : 'object failed; replaced since',
    );
    return true;
  }

  /** Leaves the object where it is for the next poll, counted as deferred. */
  private defer(entry: Entry, summary: PollSummary, stage: string, error: unknown): void {
    summary.deferred++;
    this.metrics.objects.inc({ outcome: 'deferred' });
    const err = toSluiceError(error, 'E061');
    const failure = classifyFailure(err);
    getLogger()[failure === 'transient' ? 'warn' : 'error'](
      { key: entry.key, stage, code: err.code, fault: readFaultOf(err) ?? failure, err: err.message },
      failure === 'transient'
        ? 'transient failure; left in place for the next poll'
        : 'failure not caused by the content; left in place for the next poll',
    );
  }

  /** Runs `fn` under the transient retry policy, counting and logging each retry. */
  private withRetries<T>(summary: PollSummary, stage: () => string, fn: () => Promise<T>): Promise<T> {
    return retryTransient(this.policy, this.onRetry(summary, stage), fn);
  }

  private onRetry(summary: PollSummary, stage: () => string) {
    return (error: unknown, attempt: number, delayMs: number) => {
      summary.retries++;
      this.metrics.retries.inc({ stage: stage() });
      getLogger().info(
        { stage: stage(), attempt, delayMs: Math.round(delayMs), err: String(error) },
        'transient failure; retrying',
      );
    };
  }

  /**
   * Reads and parses the whole object before the first record is enqueued: a broken object (bad
   * row 900,000 included) goes to the failed prefix with none of its records queued. The read is
   * verified against the listing, and a read fault wins over whatever the parser made of the bytes.
   */
  private async enqueueRecords(entry: Entry, summary: PollSummary, enqueuing: () => void): Promise<number> {
    const scope = this.source.storage.url;
    const spool = await readRecords(this.source.storage, entry, {
      jsonArray: this.o.jsonArray,
      maxRecordBytes: this.o.maxRecordBytes,
      limitName: this.o.maxRecordBytesName,
      idleTimeoutMs: this.o.readIdleTimeoutMs,
      memoryRecords: Math.max(this.o.batchSize, 10_000),
      ...(this.archiver.lineage ? { digest: entry } : {}),
    });
    const source = { url: outputUrl(this.source.storage, entry.key), etag: entry.etag, size: entry.size };
    try {
      enqueuing();
      let n = 0;
      for await (const records of spool.batches(this.o.batchSize)) {
        const batch: JobToAdd[] = records.map((data) => ({
          id: recordJobId(scope, entry.key, entry.etag, ++n),
          name: this.o.jobName,
          data,
          source,
        }));
        const added = await this.o.queue.addBulk(batch);
        summary.jobsAdded += added;
        // Count our own additions until the next real check, so concurrent objects see them.
        this.lastBacklog += added;
      }
      return spool.size;
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
