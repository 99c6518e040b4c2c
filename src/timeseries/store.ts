/**
 * TimeSeriesStore: durable appends through a write-ahead log with group commit, per-variable
 * columnar buffers, Parquet segments published by a manifest, and queries that merge the two.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { Engine } from '../engine/duckdb.ts';
import { NotFoundError, TimeSeriesError, ValidationError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { parseDuration } from '../util/durations.ts';
import { buildBatch, validateSinglePoint } from './batch.ts';
import { PointBuffers } from './buffers.ts';
import { encodeBatch, encodeSinglePoint, type PointBatch } from './codec.ts';
import type { SeriesBuffer } from './columns.ts';
import { applyRetentionTo, type CompactResult, compactBuffers, type RetentionResult } from './compact.ts';
import { type ExportOptions, exportStore, type ImportOptions, type ImportResult, importPath } from './io.ts';
import { MANIFEST_KEY, type Manifest } from './manifest.ts';
import { type Resolved, resolveOptions } from './options.ts';
import { removeStoreOrphans } from './orphans.ts';
import { SegmentFiles } from './segments.ts';
import { SeriesReader } from './series-reader.ts';
import type {
  DataPointInput,
  Metadata,
  PointValue,
  StoreStats,
  TimeSeriesStoreOptions,
  TimestampInput,
} from './types.ts';
import { formatMicros, parseTimestamp } from './validate.ts';
import { WriteAheadLog } from './wal.ts';
import { type RecoveredWal, readWal } from './wal-files.ts';
import { acquireLock } from './wal-lock.ts';

export class TimeSeriesStore {
  readonly url: string;
  readonly options: Resolved;
  /** @internal */ readonly segments: SegmentFiles;
  /** @internal */ manifest: Manifest;
  private readonly buffers = new PointBuffers();
  /** @internal Buffered points not yet compacted. */
  get active(): Map<string, SeriesBuffer> {
    return this.buffers.active;
  }
  /** @internal Points being compacted right now (still visible to queries). */
  get frozen(): Map<string, SeriesBuffer> | undefined {
    return this.buffers.frozen;
  }
  private readonly storage: Storage;
  private readonly engine: Engine;
  private wal: WriteAheadLog | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private nextSeq = 1;
  private committedSeq = 0;
  private compacting: Promise<CompactResult> | undefined;
  private maintenance: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** @internal */ ownsStorage = true;
  private readonly reader: SeriesReader;

  private constructor(url: string, options: Resolved, storage: Storage, engine: Engine) {
    this.url = url;
    this.options = options;
    this.storage = storage;
    this.engine = engine;
    this.segments = new SegmentFiles(storage, engine);
    this.manifest = { version: 1, compactedSeq: 0, segments: [], updatedAt: '' };
    this.reader = new SeriesReader(this);
  }

  /** Opens (creating if needed, unless `create: false` or `readOnly`) the store at a local path or `s3://bucket/prefix`, replaying its log. */
  static async open(pathOrUrl: string, options: TimeSeriesStoreOptions = {}): Promise<TimeSeriesStore> {
    const resolved = resolveOptions(pathOrUrl, options);
    const storage = options.storageInstance ?? openStorage(pathOrUrl, options.storage ?? {});
    const engine = await Engine.create({ threads: 2 });
    const store = new TimeSeriesStore(pathOrUrl, resolved, storage, engine);
    store.ownsStorage = options.storageInstance === undefined;
    try {
      await store.init();
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
    return store;
  }

  private async init(): Promise<void> {
    const o = this.options;
    if (!o.create) await this.assertExists();
    if (o.readOnly) {
      await this.refresh();
      return;
    }
    await fsp.mkdir(o.walDir, { recursive: true });
    this.releaseLock = await acquireLock(o.walDir);
    this.segments.scratchDir = path.join(o.walDir, 'scratch');
    await fsp.rm(this.segments.scratchDir, { recursive: true, force: true });
    this.manifest = await this.segments.loadManifest();
    await this.removeOrphans();
    const recovered = await readWal(o.walDir, true);
    this.replay(recovered);
    this.wal = await WriteAheadLog.open(
      o.walDir,
      {
        durability: o.durability,
        groupCommitMs: o.groupCommitMs,
        groupCommitBytes: o.groupCommitBytes,
        segmentBytes: o.walSegmentBytes,
        onCommit: (batches) => this.applyCommitted(batches),
      },
      recovered,
      this.nextSeq,
    );
    if (o.compactIntervalMs > 0) {
      this.timer = setInterval(() => this.backgroundCompact(), o.compactIntervalMs);
      this.timer.unref();
    }
  }

  /** Recovery: what killed compactions left (orphans.ts). Housekeeping only: a failure does not stop the open. */
  private async removeOrphans(): Promise<void> {
    try {
      const removed = await removeStoreOrphans(this.storage, this.manifest);
      const bytes = removed.reduce((sum, f) => sum + f.bytes, 0);
      if (removed.length > 0)
        getLogger().info(
          { store: this.url, files: removed.length, bytes },
          'removed files no manifest names',
        );
    } catch (error) {
      getLogger().warn(
        { err: error, store: this.url },
        'cannot remove orphan segments; sluice storage gc can',
      );
    }
  }

  /**
   * A store exists once a writer opened it (its log folder) or compacted into it (its manifest).
   * Reading a mistyped path must say so, not answer "no points" (or create an empty store).
   */
  private async assertExists(): Promise<void> {
    const wal = await fsp.stat(this.options.walDir).catch(() => undefined);
    if (wal?.isDirectory() || (await this.storage.exists(MANIFEST_KEY))) return;
    throw new NotFoundError(
      `No time-series store at ${this.url}: it has no ${MANIFEST_KEY} and no write-ahead log at ${this.options.walDir} (sluice ts append or import creates one)`,
      { context: { store: this.url, walDir: this.options.walDir } },
    );
  }

  /** Rebuilds buffers from the log, skipping what the manifest says is already in segments. */
  private replay(recovered: RecoveredWal): void {
    const covered = this.manifest.compactedSeq;
    this.buffers.reset();
    let maxSeq = covered;
    for (const b of recovered.batches) {
      const last = b.firstSeq + b.count - 1;
      if (last > maxSeq) maxSeq = last;
      if (last <= covered) continue;
      this.buffers.apply(b, covered);
    }
    this.nextSeq = maxSeq + 1;
    this.committedSeq = maxSeq;
  }

  /** Re-reads the manifest and the writer's log tail (read-only opens). Log first: see docs. */
  async refresh(): Promise<void> {
    const recovered = this.options.readWalTail
      ? await readWal(this.options.walDir, false)
      : { batches: [], files: [], truncated: 0 };
    this.manifest = await this.segments.loadManifest();
    this.replay(recovered);
  }

  private applyCommitted(batches: PointBatch[]): void {
    for (const b of batches) {
      this.buffers.apply(b);
      this.committedSeq = b.firstSeq + b.count - 1;
    }
    const limit = this.options.compactPoints;
    if (limit > 0 && this.buffers.buffered >= limit && !this.compacting) this.backgroundCompact();
  }

  private backgroundCompact(): void {
    if (this.closed || this.compacting) return;
    this.compact().catch((error) =>
      getLogger().error({ err: error, store: this.url }, 'background compaction failed'),
    );
  }

  private writable(): WriteAheadLog {
    if (this.closed) throw new TimeSeriesError(`Time-series store ${this.url} is closed`);
    if (!this.wal)
      throw new TimeSeriesError(`Time-series store ${this.url} is open read-only; writes need a writer open`);
    return this.wal;
  }

  /** Stores one point; resolves once it is in the log (and fsynced unless durability is 'os'). */
  storeDataPoint(
    variable: string,
    timestamp: TimestampInput,
    value: PointValue,
    metadata?: Metadata | null,
  ): Promise<void> {
    try {
      const wal = this.writable();
      const p = validateSinglePoint(variable, timestamp, value, metadata);
      const seq = this.nextSeq++;
      const { batch, bufs } = encodeSinglePoint(variable, p.micros, p.type, p.num, p.str, p.metaJson, seq);
      return wal.append(bufs, batch);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stores a batch atomically: one invalid point rejects the whole batch with InvalidPointError (E051). */
  async storeDataPoints(points: readonly DataPointInput[]): Promise<void> {
    const wal = this.writable();
    if (!Array.isArray(points)) throw new ValidationError('storeDataPoints expects an array of points');
    if (points.length === 0) return;
    const batch = buildBatch(points);
    batch.firstSeq = this.nextSeq;
    this.nextSeq += batch.count;
    await wal.append(encodeBatch(batch), batch);
  }

  /** Waits until every write issued so far is durable. */
  async flush(): Promise<void> {
    await this.wal?.flush();
  }

  query(variable: string, options = {} as Parameters<SeriesReader['query']>[1]) {
    return this.reader.query(variable, options);
  }
  /** Like query(), collected into an array (no per-point await). */
  queryAll(variable: string, options = {} as Parameters<SeriesReader['query']>[1]) {
    return this.reader.queryAll(variable, options);
  }
  aggregate(variables: string | string[], options: Parameters<SeriesReader['aggregate']>[1]) {
    return this.reader.aggregate(variables, options);
  }
  latest(variable: string) {
    return this.reader.latest(variable);
  }
  variables() {
    return this.reader.variables();
  }
  /** @internal Sorted, resolved columns of one variable in [from, to). */
  scan(variable: string, from?: number, to?: number) {
    return this.reader.scan(variable, from, to);
  }

  async stats(): Promise<StoreStats> {
    if (this.options.readOnly) await this.refresh();
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let segmentPoints = 0;
    let segmentBytes = 0;
    for (const s of this.manifest.segments) {
      segmentPoints += s.rows;
      segmentBytes += s.bytes;
      min = Math.min(min, s.minMicros);
      max = Math.max(max, s.maxMicros);
    }
    let bufferedPoints = 0;
    for (const map of [this.frozen, this.active]) {
      for (const b of map?.values() ?? []) {
        bufferedPoints += b.length;
        min = Math.min(min, b.minMicros);
        max = Math.max(max, b.maxMicros);
      }
    }
    const stats: StoreStats = {
      variables: (await this.variables()).length,
      bufferedPoints,
      segmentPoints,
      segments: this.manifest.segments.length,
      segmentBytes,
      walBytes: this.wal?.walBytes ?? 0,
      walFiles: this.wal?.walFiles ?? 0,
      lastSeq: this.committedSeq,
      compactedSeq: this.manifest.compactedSeq,
    };
    if (Number.isFinite(min)) stats.minTimestamp = formatMicros(min);
    if (Number.isFinite(max)) stats.maxTimestamp = formatMicros(max);
    return stats;
  }

  /**
   * Writes every buffered point to Parquet segments, publishes the manifest, then drops the log
   * files it covered. Appends continue meanwhile; concurrent calls share one run.
   */
  compact(): Promise<CompactResult> {
    const wal = this.writable();
    if (this.compacting) return this.compacting;
    const run = (async () => {
      await this.maintenance.catch(() => {});
      const { result: frozen } = await wal.rotate(
        () => this.nextSeq,
        () => {
          return { buffers: this.buffers.freeze(), seq: this.committedSeq };
        },
      );
      try {
        const res = await compactBuffers(this, frozen.buffers, frozen.seq);
        this.buffers.frozen = undefined;
        await wal.dropUpTo(frozen.seq);
        return res;
      } catch (error) {
        // Keep the frozen points visible and compact them again next time.
        this.buffers.unfreeze();
        throw error;
      }
    })();
    this.compacting = run.finally(() => {
      this.compacting = undefined;
    });
    this.maintenance = this.compacting;
    return this.compacting;
  }

  /**
   * Deletes points older than `olderThan` (a timestamp, or a duration like '30d' meaning that long
   * before now). Buffered points are compacted first; late points older than the cut-off written
   * afterwards are never returned and are dropped by the next compaction.
   */
  async applyRetention(options: { olderThan: TimestampInput }): Promise<RetentionResult> {
    this.writable();
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
    return this.runMaintenance(async () => ({
      cutoff: formatMicros(at),
      ...(await applyRetentionTo(this, at)),
    }));
  }

  /** Imports the seed's layout: a directory of `<variable>.jsonl` files (or one .jsonl/.csv file). */
  importJsonl(dirOrFile: string, options: ImportOptions = {}): Promise<ImportResult> {
    this.writable();
    return importPath(this, dirOrFile, options);
  }

  /** Exports one variable (or all) as seed-layout JSONL files, one CSV or one Parquet file. */
  export(variable: string | undefined, options: ExportOptions): Promise<{ files: string[]; points: number }> {
    return exportStore(this, variable, options);
  }

  /** @internal Serialises maintenance (retention) after any running compaction. */
  runMaintenance<T>(fn: () => Promise<T>): Promise<T> {
    const op = this.maintenance.catch(() => {}).then(fn);
    this.maintenance = op.catch(() => {});
    return op;
  }

  /** @internal */ get engineForIo(): Engine {
    return this.engine;
  }
  /** @internal */ get storageForIo(): Storage {
    return this.storage;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    await this.compacting?.catch(() => {});
    await this.maintenance.catch(() => {});
    this.closed = true;
    await this.wal?.close();
    await this.releaseLock?.();
    await this.engine.close();
    if (this.ownsStorage) await this.storage.close();
    await this.segments.cleanup();
  }
}
