/**
 * The store's side of its write-ahead log: sequence numbers, the writer's lock and log (appends
 * go through it, and only committed batches reach the buffers), and replaying a log into the
 * buffers, at a writer's open and at each refresh of a read-only store.
 */
import path from 'node:path';
import { TimeSeriesError, ValidationError } from '../errors.ts';
import type { LineageInput } from '../lineage/index.ts';
import { getLogger } from '../logging/logger.ts';
import { type ProgressFn, throttleProgress } from '../util/progress.ts';
import { buildBatch, validateSinglePoint } from './batch.ts';
import type { PointBatch } from './codec.ts';
import { compactedSeqOf } from './manifest.ts';
import { recordedSources } from './provenance.ts';
import { singlePointBatch } from './record-encode.ts';
import type { StoreState } from './state.ts';
import type { AppendOptions, DataPointInput, Metadata, PointValue, TimestampInput } from './types.ts';
import { WriteAheadLog } from './wal.ts';
import { type RecoveredWal, readWal, walFilesBytes } from './wal-files.ts';
import { claimWriterSlot, listSlots, type WriterSlot } from './writer-slots.ts';

export type LogState = Pick<StoreState, 'url' | 'options' | 'segments' | 'manifest' | 'buffers' | 'lineage'>;

/** What the log asks of maintenance (maintenance.ts). */
export interface LogHooks {
  /** Called after committed batches are in the buffers (maintenance decides whether to compact). */
  afterCommit: () => void;
  /** The compaction running now, if any. */
  compaction: () => Promise<unknown> | undefined;
}

export class PointLog {
  private readonly state: LogState;
  private readonly hooks: LogHooks;
  private wal: WriteAheadLog | undefined;
  private slot: WriterSlot | undefined;
  private seq = 1;
  private committed = 0;
  private isClosed = false;
  /** A read-only open's view of the logs at its last refresh: every writer's, records only. */
  private readLogs = { bytes: 0, files: 0 };
  /** Appends that named their sources, until committed (a failed one's until the next rotation). */
  private readonly sourced = new Map<PointBatch, readonly LineageInput[]>();

  constructor(state: LogState, hooks: LogHooks) {
    this.state = state;
    this.hooks = hooks;
  }

  /** The seq the next point will get. */
  get nextSeq(): number {
    return this.seq;
  }
  /** The highest seq in the buffers or segments (a reader: in the log it last read). */
  get committedSeq(): number {
    return this.committed;
  }
  get closed(): boolean {
    return this.isClosed;
  }
  /**
   * Bytes of the log records not yet dropped by compaction (not the files' size on disk, which
   * includes zero-filled preallocated space): a writer's own log, or for a read-only open every
   * writer's log as its last refresh read it (0 when `readWalTail` is false).
   */
  get walBytes(): number {
    return this.wal ? this.wal.walBytes : this.readLogs.bytes;
  }
  /** Log files: a writer's own (its open file included), or every writer's for a read-only open. */
  get walFiles(): number {
    return this.wal ? this.wal.walFiles : this.readLogs.files;
  }

  /**
   * Claims this writer's slot: its own log folder and sequence space under the log root
   * (writer-slots.ts), a dead writer's first so its points get compacted.
   */
  async claim(): Promise<WriterSlot> {
    this.slot = await claimWriterSlot(this.state.options.walDir);
    return this.slot;
  }

  /** Throws LockError (E071) unless this writer still holds its slot (writer-slots.ts). */
  assertSlotHeld(): Promise<void> {
    if (!this.slot) throw new TimeSeriesError(`Time-series store ${this.state.url} has no writer slot`);
    return this.slot.assertHeld();
  }

  /** This writer's id in the manifest ('' for the store's first log folder). */
  get writerId(): string {
    if (!this.slot) throw new TimeSeriesError(`Time-series store ${this.state.url} has no writer slot`);
    return this.slot.id;
  }

  /** A writer's open: repairs and replays its log over the loaded manifest, then opens it for appends. */
  async openWriter(): Promise<void> {
    const o = this.state.options;
    const dir = this.writerDir();
    const meter = await replayMeter([dir], o.onReplayProgress);
    const recovered = await readWal(dir, true, meter.onBytes);
    this.state.buffers.reset();
    const covered = compactedSeqOf(this.state.manifest, this.writerId);
    const last = this.replay(recovered, covered);
    meter.end();
    if (last > covered) await this.recoverSources(dir, recovered);
    this.seq = last + 1;
    this.committed = last;
    this.wal = await WriteAheadLog.open(
      dir,
      {
        durability: o.durability,
        groupCommitMs: o.groupCommitMs,
        groupCommitBytes: o.groupCommitBytes,
        segmentBytes: o.walSegmentBytes,
        onCommit: (batches) => this.applyCommitted(batches),
        // Committed batches are distributed to their variables' buffers while the next commit's
        // fsync runs, in time the thread would spend waiting, not in the freeze of a compaction.
        whileSyncing: () => this.state.buffers.distributePending(),
      },
      recovered,
      this.seq,
    );
  }

  /** The sources of replayed points: the lineage records of their log files (provenance.ts). */
  private async recoverSources(dir: string, recovered: RecoveredWal): Promise<void> {
    const lineage = this.state.lineage;
    if (!lineage) return;
    const files = recovered.files.map((f) => path.join(dir, f.name));
    try {
      lineage.provenance.noteRecovered(await recordedSources(lineage.storage, dir, files));
      lineage.logs.adopt(files);
    } catch (error) {
      getLogger().warn(
        { err: error, store: this.state.url },
        'cannot read the lineage records of the replayed log: its points get segments without their sources',
      );
    }
  }

  private writerDir(): string {
    if (!this.slot) throw new TimeSeriesError(`Time-series store ${this.state.url} has no writer slot`);
    return this.slot.dir;
  }

  /**
   * Adds one writer's log to the buffers, skipping what the manifest says is already in segments;
   * returns the highest seq in the log (or `covered`).
   */
  private replay(recovered: RecoveredWal, covered: number): number {
    let maxSeq = covered;
    for (const b of recovered.batches) {
      const last = b.firstSeq + b.count - 1;
      if (last > maxSeq) maxSeq = last;
      if (last <= covered) continue;
      this.state.buffers.apply(b, covered);
    }
    return maxSeq;
  }

  /**
   * Re-reads the manifest and every writer's log tail (read-only opens). Logs first: a point
   * compacted between the two reads is then in the manifest, never in neither.
   */
  async refresh(): Promise<void> {
    const o = this.state.options;
    const slots = o.readWalTail ? await listSlots(o.walDir) : [];
    const meter = await replayMeter(
      slots.map((s) => s.dir),
      o.onReplayProgress,
    );
    const logs = await Promise.all(
      slots.map(async (s) => ({ id: s.id, wal: await readWal(s.dir, false, meter.onBytes) })),
    );
    this.state.manifest = await this.state.segments.loadManifest();
    this.state.buffers.reset();
    let last = 0;
    const read = { bytes: 0, files: 0 };
    for (const { id, wal } of logs) {
      last = Math.max(last, this.replay(wal, compactedSeqOf(this.state.manifest, id)));
      for (const f of wal.files) read.bytes += f.size;
      read.files += wal.files.length;
    }
    meter.end();
    this.readLogs = read;
    this.seq = last + 1;
    this.committed = last;
  }

  private applyCommitted(batches: PointBatch[]): void {
    for (const b of batches) {
      this.state.buffers.apply(b);
      this.committed = b.firstSeq + b.count - 1;
    }
    // Appends that name no source cost nothing more here.
    if (this.sourced.size > 0) this.noteSources(batches);
    this.hooks.afterCommit();
  }

  /** Committed batches' sources: kept for their segments, recorded for their log file. */
  private noteSources(batches: PointBatch[]): void {
    const lineage = this.state.lineage;
    if (!lineage || !this.wal) return;
    const file = this.wal.currentFile;
    for (const b of batches) {
      const sources = this.sourced.get(b);
      if (!sources) continue;
      this.sourced.delete(b);
      lineage.provenance.note(b, sources);
      lineage.logs.record(file, sources);
    }
    // Batches whose append failed never commit: dropped once the log has moved past them.
    if (this.sourced.size > 10_000)
      for (const b of this.sourced.keys()) if (b.firstSeq <= this.committed) this.sourced.delete(b);
  }

  /** The append of `batch`; its sources are noted once it is committed. */
  private appended(
    wal: WriteAheadLog,
    batch: PointBatch,
    sources: readonly LineageInput[] | undefined,
  ): Promise<void> {
    if (sources && sources.length > 0 && this.state.lineage) this.sourced.set(batch, sources);
    return wal.append(batch);
  }

  /**
   * Whether a write must wait for memory: the active set holds `compactBytes` and a compaction
   * still holds the set frozen before it. Ingest faster than compaction would otherwise grow the
   * buffers without bound; waiting makes appends go at the rate compaction frees memory.
   */
  private full(): boolean {
    const b = this.state.buffers;
    const limit = this.state.options.compactBytes;
    return limit > 0 && b.bufferedBytes >= limit && b.frozen !== undefined;
  }

  /** Waits until full() is false: for the running compaction, which frees the frozen set. */
  private async room(): Promise<void> {
    while (this.full()) {
      const running = this.hooks.compaction();
      // A failed compaction puts its points back into the active set (nothing frozen): go on.
      if (!running) return;
      await running.catch(() => {});
      // Freeze what filled up meanwhile, so the next wait has a compaction to wait for.
      this.hooks.afterCommit();
    }
  }

  /** The open log, or why there is none (closed, or a read-only open). Throws synchronously. */
  writable(): WriteAheadLog {
    const url = this.state.url;
    if (this.isClosed) throw new TimeSeriesError(`Time-series store ${url} is closed`);
    if (!this.wal)
      throw new TimeSeriesError(`Time-series store ${url} is open read-only; writes need a writer open`);
    return this.wal;
  }

  /** Stores one point; resolves once it is in the log (and fsynced unless durability is 'os'). */
  storeDataPoint(
    variable: string,
    timestamp: TimestampInput,
    value: PointValue,
    metadata?: Metadata | null,
    options?: AppendOptions,
  ): Promise<void> {
    try {
      this.writable();
      const p = validateSinglePoint(variable, timestamp, value, metadata);
      if (this.full()) return this.room().then(() => this.appendSingle(variable, p, options?.source));
      return this.appendSingle(variable, p, options?.source);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private appendSingle(
    variable: string,
    p: ReturnType<typeof validateSinglePoint>,
    sources: readonly LineageInput[] | undefined,
  ): Promise<void> {
    try {
      const wal = this.writable();
      const seq = this.seq++;
      const batch = singlePointBatch(variable, p.micros, p.type, p.num, p.str, p.metaJson, seq);
      return sources === undefined ? wal.append(batch) : this.appended(wal, batch, sources);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stores a batch atomically: one invalid point rejects the whole batch with InvalidPointError (E051). */
  async storeDataPoints(points: readonly DataPointInput[], options?: AppendOptions): Promise<void> {
    this.writable();
    if (!Array.isArray(points)) throw new ValidationError('storeDataPoints expects an array of points');
    if (points.length === 0) return;
    const batch = buildBatch(points);
    // Sequence numbers are taken after the wait: the log must hold records in their seq order.
    if (this.full()) await this.room();
    batch.firstSeq = this.seq;
    this.seq += batch.count;
    await this.appended(this.writable(), batch, options?.source);
  }

  /** Waits until every write issued so far is durable. */
  async flush(): Promise<void> {
    await this.wal?.flush();
  }

  /** Refuses further writes, closes the log and gives up the slot. */
  async close(): Promise<void> {
    this.isClosed = true;
    await this.wal?.close();
    await this.slot?.release();
  }
}

/**
 * Bytes of the logs in `dirs` read back, as `ts-replay` events against the files' size on disk
 * (read before, so a bar has its total from the start); nothing without a listener or a log.
 */
async function replayMeter(
  dirs: string[],
  onProgress: ProgressFn | undefined,
): Promise<{ onBytes?: (bytes: number) => void; end(): void }> {
  if (!onProgress) return { end() {} };
  const total = (await Promise.all(dirs.map(walFilesBytes))).reduce((a, b) => a + b, 0);
  if (total === 0) return { end() {} };
  const report = throttleProgress(onProgress);
  const event = (done: number) => ({ operation: 'ts-replay', done, total, unit: 'bytes' as const });
  let done = 0;
  return {
    // A file that grew since its size was read (a writer appending) ends the count early: the
    // event that completes it is end()'s.
    onBytes(bytes) {
      done += bytes;
      if (done < total) report?.(event(done));
    },
    end() {
      report?.(event(total));
    },
  };
}
