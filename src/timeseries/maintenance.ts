/**
 * When compaction and retention run: the background timer and the buffered-points trigger, one
 * compaction at a time (concurrent calls share it), retention serialised after it, and the log
 * rotation that hands a compaction exactly the points committed before it. What a run writes is
 * compact.ts's.
 */
import { TimeSeriesError, ValidationError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { parseDuration } from '../util/durations.ts';
import type { ProgressFn } from '../util/progress.ts';
import {
  applyRetentionTo,
  type CompactionState,
  type CompactResult,
  compactBuffers,
  type RetentionResult,
} from './compact.ts';
import { alsoChecking, type CompactionLease, type LeaseGuard } from './compaction-lease.ts';
import { backoff, lostRace, RACE_ATTEMPTS, timedGuard } from './lost-race.ts';
import type { Manifest } from './manifest.ts';
import type { PointLog } from './point-log.ts';
import type { Presence } from './presence.ts';
import type { StoreState } from './state.ts';
import type { TimestampInput } from './types.ts';
import { formatMicros, parseTimestamp } from './validate.ts';

export type MaintenanceState = CompactionState & Pick<StoreState, 'buffers'>;
/** What maintenance needs of the write path: the open log, its writer id, and where its sequence stands. */
export type MaintainedLog = Pick<
  PointLog,
  'closed' | 'nextSeq' | 'committedSeq' | 'writable' | 'writerId' | 'assertSlotHeld'
>;

/**
 * How this writer shares the store with others: the compaction lease every run holds; on S3
 * without a Redis lease the presence check that refuses a writer it shares no lock with, unless
 * the storage decides conditional writes atomically (`cas`): then the manifest's compare-and-swap
 * is what keeps writers on several hosts apart (lost-race.ts).
 */
export interface Coordination {
  lease: CompactionLease;
  presence?: Presence | undefined;
  /** The lease is this home folder's only, and the publish's compare-and-swap is the coordination. */
  cas?: boolean;
}

export class Maintenance {
  private readonly state: MaintenanceState;
  private readonly log: MaintainedLog;
  private compacting: Promise<CompactResult> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private coordination: Coordination | undefined;

  constructor(state: MaintenanceState, log: MaintainedLog) {
    this.state = state;
    this.log = log;
  }

  /**
   * Runs `fn` holding the compaction lease, on the manifest as it is now (read under the lease:
   * what other writers published is merged into, never overwritten). A run that loses the race to
   * publish (another writer published first) is run again on the new manifest, after a random
   * pause with the lease let go, up to RACE_ATTEMPTS runs in all.
   */
  async underLease<T>(fn: (guard: LeaseGuard) => Promise<T>): Promise<T> {
    const c = this.coordination;
    if (!c) throw new ValidationError(`Time-series store ${this.state.url} has no compaction lease`);
    for (let attempt = 1; ; attempt++) {
      let read: Manifest | undefined;
      try {
        return await c.lease.hold(async (guard) => {
          read = await this.state.segments.loadManifest();
          this.state.manifest = read;
          await c.presence?.assertAlone();
          return fn(c.cas ? timedGuard(guard, this.state.url) : guard);
        });
      } catch (error) {
        if (read === undefined || !(await lostRace(error, read, this.state.segments))) throw error;
        if (attempt >= RACE_ATTEMPTS)
          throw new TimeSeriesError(
            `Time-series store ${this.state.url}: other writers published the manifest first ${attempt} times in a row; nothing of this run was published and its points stay in the log for the next compaction`,
            { cause: error, context: { attempts: attempt } },
          );
        getLogger().debug(
          { store: this.state.url, attempt },
          'another writer published first; running again',
        );
        await backoff(attempt);
      }
    }
  }

  /** Set once the writer's open has its lease (and presence). */
  coordinate(coordination: Coordination): void {
    this.coordination = coordination;
  }

  /** Starts the compaction timer, if the options ask for one. */
  start(): void {
    const ms = this.state.options.compactIntervalMs;
    if (ms > 0) {
      this.timer = setInterval(() => this.backgroundCompact(), ms);
      this.timer.unref();
    }
  }

  /** After a commit: compacts in the background once enough points (or bytes of them) are buffered. */
  afterCommit(): void {
    const { compactPoints, compactBytes } = this.state.options;
    const b = this.state.buffers;
    const due =
      (compactPoints > 0 && b.buffered >= compactPoints) ||
      (compactBytes > 0 && b.bufferedBytes >= compactBytes);
    if (due && !this.compacting) this.backgroundCompact();
  }

  /** The compaction running now, if any: appends wait on it while memory is full (point-log.ts). */
  get running(): Promise<unknown> | undefined {
    return this.compacting;
  }

  private backgroundCompact(): void {
    if (this.log.closed || this.compacting) return;
    this.compact().catch((error) =>
      getLogger().error({ err: error, store: this.state.url }, 'background compaction failed'),
    );
  }

  /**
   * Writes every buffered point to Parquet segments, publishes the manifest, then drops the log
   * files it covered. Appends continue meanwhile; concurrent calls share one run.
   */
  compact(onProgress?: ProgressFn): Promise<CompactResult> {
    const wal = this.log.writable();
    if (this.compacting) return this.compacting;
    const buffers = this.state.buffers;
    const run = (async () => {
      await this.chain.catch(() => {});
      const { result: frozen } = await wal.rotate(
        () => this.log.nextSeq,
        () => {
          this.state.lineage?.provenance.freeze();
          return { buffers: buffers.freeze(), seq: this.log.committedSeq };
        },
      );
      try {
        const writerId = this.log.writerId;
        const res = await this.underLease((guard) =>
          compactBuffers(
            this.state,
            frozen.buffers,
            frozen.seq,
            writerId,
            alsoChecking(guard, () => this.log.assertSlotHeld()),
            onProgress,
          ),
        );
        buffers.dropFrozen();
        this.state.lineage?.provenance.dropFrozen();
        await wal.dropUpTo(frozen.seq);
        await this.state.lineage?.logs.dropped();
        return res;
      } catch (error) {
        // Keep the frozen points visible and compact them again next time.
        buffers.unfreeze();
        this.state.lineage?.provenance.unfreeze();
        throw error;
      }
    })();
    this.compacting = run.finally(() => {
      this.compacting = undefined;
    });
    this.chain = this.compacting;
    return this.compacting;
  }

  /**
   * Deletes points older than `olderThan` (a timestamp, or a duration like '30d' meaning that long
   * before now). Buffered points are compacted first; late points older than the cut-off written
   * afterwards are never returned and are dropped by the next compaction.
   */
  async applyRetention(options: { olderThan: TimestampInput }): Promise<RetentionResult> {
    this.log.writable();
    const o = options?.olderThan;
    let cutoff: number | undefined;
    if (typeof o === 'string' && /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/i.test(o)) {
      cutoff = (Date.now() - parseDuration(o)) * 1000;
    } else if (o !== undefined) {
      cutoff = parseTimestamp(o);
    }
    if (cutoff === undefined) {
      throw new ValidationError(
        `Option olderThan must be a timestamp or a duration like 30d, got ${JSON.stringify(String(o))}`,
      );
    }
    const at = cutoff;
    await this.compact();
    return this.serialised(async () => ({
      cutoff: formatMicros(at),
      ...(await this.underLease((guard) => applyRetentionTo(this.state, at, guard))),
    }));
  }

  /** Runs `fn` after any running compaction or retention, and before the next. */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const op = this.chain.catch(() => {}).then(fn);
    this.chain = op.catch(() => {});
    return op;
  }

  /** Stops the timer and waits for whatever is running (its failure is not the caller's). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.compacting?.catch(() => {});
    await this.chain.catch(() => {});
    await this.coordination?.presence?.close();
    await this.coordination?.lease.close();
  }
}
