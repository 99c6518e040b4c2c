/**
 * TimeSeriesStore: durable appends through a write-ahead log with group commit, per-variable
 * columnar buffers, Parquet segments published by a manifest, and queries that merge the two.
 *
 * This file is the facade: it opens a store (in the order recovery needs), owns its parts and
 * delegates to them. The parts share one explicit StoreState (state.ts) and never import this
 * file: the log and appends (point-log.ts), compaction and retention scheduling (maintenance.ts,
 * with the segment rewriting in compact.ts), queries (series-reader.ts), import and export (io.ts).
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { LazyEngine } from '../engine/duckdb.ts';
import { LockError, NotFoundError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import type { ProgressFn } from '../util/progress.ts';
import { compactAbandonedLogs } from './abandoned-logs.ts';
import { expectedSetPoints, PointBuffers } from './buffers.ts';
import type { CompactResult, RetentionResult } from './compact.ts';
import { fileLease, redisLease } from './compaction-lease.ts';
import { type ExportOptions, exportStore, type ImportOptions, type ImportResult, importPath } from './io.ts';
import { adoptLegacyLog } from './legacy-log.ts';
import { ORPHAN_MIN_AGE_MS } from './lost-race.ts';
import { Maintenance } from './maintenance.ts';
import { compactedSeqOf, MANIFEST_KEY } from './manifest.ts';
import { type Resolved, resolveOptions } from './options.ts';
import { removeStoreOrphans } from './orphans.ts';
import { PointLog } from './point-log.ts';
import { announceWriter } from './presence.ts';
import { StoreLineage } from './segment-lineage.ts';
import { SegmentFiles } from './segments.ts';
import { SeriesReader } from './series-reader.ts';
import type { StoreState } from './state.ts';
import { storeDigest } from './store-url.ts';
import type {
  AggregateOptions,
  AggregateRow,
  AppendOptions,
  DataPointInput,
  Metadata,
  PointValue,
  QueryOptions,
  StoredPoint,
  StoreStats,
  TimeSeriesStoreOptions,
  TimestampInput,
} from './types.ts';
import { formatMicros } from './validate.ts';

/**
 * Stores open for writing in this process, by identity (store-url.ts). Two writers of one store
 * in one process would only compete for the lease; the second is refused and told to reuse the first.
 */
const openWriters = new Set<string>();

/** Decoded segment rows a read-only open keeps for repeated queries. */
const READER_CACHED_ROWS = 500_000;
/**
 * A writer's cache, which also holds the segments it has just written (about 37 bytes a row): its
 * memory counts against the bound on buffered points (compactBytes), and aggregates of windows no
 * cache holds go to DuckDB on the files, which answers them without decoding rows.
 */
const WRITER_CACHED_ROWS = 250_000;

export class TimeSeriesStore {
  readonly url: string;
  readonly options: Resolved;
  private readonly state: StoreState;
  /** False when the caller passed `storageInstance`: closing the store leaves it open. */
  private readonly ownsStorage: boolean;
  /** Whether this store holds its identity in `openWriters`. */
  private registered = false;
  private readonly log: PointLog;
  private readonly maintenance: Maintenance;
  private readonly reader: SeriesReader;

  private constructor(
    url: string,
    options: Resolved,
    storage: Storage,
    engine: LazyEngine,
    ownsStorage: boolean,
  ) {
    this.url = url;
    this.options = options;
    this.ownsStorage = ownsStorage;
    this.state = {
      url,
      options,
      storage,
      engine,
      // A reader keeps fewer decoded segments: it holds memory for what it is asked, not the store.
      segments: new SegmentFiles(storage, engine, options.readOnly ? READER_CACHED_ROWS : WRITER_CACHED_ROWS),
      manifest: { version: 1, compactedSeq: 0, segments: [], updatedAt: '' },
      buffers: new PointBuffers(expectedSetPoints(options)),
    };
    this.log = new PointLog(this.state, {
      afterCommit: () => this.maintenance.afterCommit(),
      compaction: () => this.maintenance.running,
    });
    this.maintenance = new Maintenance(this.state, this.log);
    this.reader = new SeriesReader(this.state, () => this.log.refresh());
  }

  /** Opens (creating if needed, unless `create: false` or `readOnly`) the store at a local path or `s3://bucket/prefix`, replaying its log. */
  static async open(pathOrUrl: string, options: TimeSeriesStoreOptions = {}): Promise<TimeSeriesStore> {
    const resolved = resolveOptions(pathOrUrl, options);
    const storage = options.storageInstance ?? openStorage(pathOrUrl, options.storage ?? {});
    // DuckDB starts on first use, for writers and readers alike: sluice encodes its segment files
    // and decodes them itself (parquet/segment-reader.ts), so appends, compactions, queries,
    // aggregates and latest() never need it; files DuckDB wrote (an older layout) and exports do.
    const engine = new LazyEngine({ threads: 2 });
    const owns = options.storageInstance === undefined;
    const store = new TimeSeriesStore(pathOrUrl, resolved, storage, engine, owns);
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
    const state = this.state;
    if (!o.create) await this.assertExists();
    if (o.readOnly) {
      await this.refresh();
      return;
    }
    if (openWriters.has(o.identity)) {
      throw new LockError(
        `Time-series store log ${o.walDir} is already open for writing in this process; reuse that store`,
        { context: { dir: o.walDir } },
      );
    }
    openWriters.add(o.identity);
    this.registered = true;
    await adoptLegacyLog(o.legacyWalDir, o.walDir, this.url);
    const slot = await this.log.claim();
    if (o.lineage) state.lineage = new StoreLineage(state.storage, slot.dir);
    state.segments.scratchDir = path.join(slot.dir, 'scratch');
    await fsp.rm(state.segments.scratchDir, { recursive: true, force: true });
    const lease = o.lease
      ? redisLease(o.lease, storeDigest(o.identity), this.url)
      : fileLease(o.walDir, this.url);
    // The lease is theirs to close from here on, even if the presence check refuses.
    this.maintenance.coordinate({ lease });
    // Without a Redis lease, writers of an S3 store from other home folders share no lock: the
    // manifest's compare-and-swap keeps them apart where the server honours it, else E071.
    const shared = state.storage.kind !== 's3' || Boolean(o.lease);
    const cas = !shared && (await state.storage.conditionalWrites());
    const presence = shared
      ? undefined
      : await announceWriter(state.storage, this.url, storeDigest(o.walDir), slot.id, !cas);
    this.maintenance.coordinate({ lease, presence, cas });
    // Orphans are told apart from a running compaction's new segments only under the lease; with
    // writers elsewhere that share none, by age (lost-race.ts).
    await this.maintenance.underLease(() =>
      this.removeOrphans(cas ? Date.now() - ORPHAN_MIN_AGE_MS : undefined),
    );
    await this.log.openWriter();
    await this.compactAbandoned(slot.dir);
    this.maintenance.start();
  }

  /** Recovery: points other writers acknowledged and left in logs they abandoned (abandoned-logs.ts). */
  private async compactAbandoned(ownDir: string): Promise<void> {
    const points = await compactAbandonedLogs(this.state, ownDir, (fn) => this.maintenance.underLease(fn));
    if (points > 0)
      getLogger().info({ store: this.url, points }, 'compacted the logs of writers that are gone');
  }

  /** Recovery: what killed compactions left (orphans.ts). Housekeeping only: a failure does not stop the open. */
  private async removeOrphans(cutoffMs: number | undefined): Promise<void> {
    try {
      const lineage = this.state.lineage;
      const removed = await removeStoreOrphans(this.state.storage, this.state.manifest, {
        ...(cutoffMs === undefined ? {} : { cutoffMs }),
        // A killed compaction's commits may be durable: its files' deletes are recorded first.
        ...(lineage
          ? { beforeDelete: (keys: string[]) => lineage.deleting(keys, 'timeseries.orphans') }
          : {}),
      });
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
    if (wal?.isDirectory() || (await this.state.storage.exists(MANIFEST_KEY))) return;
    throw new NotFoundError(
      `No time-series store at ${this.url}: it has no ${MANIFEST_KEY} and no write-ahead log at ${this.options.walDir} (sluice ts append or import creates one)`,
      { context: { store: this.url, walDir: this.options.walDir } },
    );
  }

  /** Re-reads the manifest and the writer's log tail (read-only opens). Log first: see docs. */
  refresh(): Promise<void> {
    return this.log.refresh();
  }

  /** Stores one point; resolves once it is in the log (and fsynced unless durability is 'os'). */
  storeDataPoint(
    variable: string,
    timestamp: TimestampInput,
    value: PointValue,
    metadata?: Metadata | null,
    options?: AppendOptions,
  ): Promise<void> {
    return this.log.storeDataPoint(variable, timestamp, value, metadata, options);
  }

  /**
   * Stores a batch atomically: one invalid point rejects the whole batch with InvalidPointError
   * (E051). `options.source`: where the points came from (lineage, docs/lineage.md).
   */
  storeDataPoints(points: readonly DataPointInput[], options?: AppendOptions): Promise<void> {
    return this.log.storeDataPoints(points, options);
  }

  /** Waits until every write issued so far is durable. */
  flush(): Promise<void> {
    return this.log.flush();
  }

  query(variable: string, options: QueryOptions = {}): AsyncIterableIterator<StoredPoint> {
    return this.reader.query(variable, options);
  }
  /** Like query(), collected into an array (no per-point await). */
  queryAll(variable: string, options: QueryOptions = {}): Promise<StoredPoint[]> {
    return this.reader.queryAll(variable, options);
  }
  aggregate(variables: string | string[], options: AggregateOptions): Promise<AggregateRow[]> {
    return this.reader.aggregate(variables, options);
  }
  /**
   * The point with the greatest timestamp of `variable`; given a list, of each variable in it (in
   * its order, undefined where a variable has none), all read from one refresh of a read-only store.
   */
  latest(variable: string): Promise<StoredPoint | undefined>;
  latest(variables: readonly string[]): Promise<(StoredPoint | undefined)[]>;
  latest(v: string | readonly string[]): Promise<StoredPoint | undefined | (StoredPoint | undefined)[]> {
    return Array.isArray(v) ? this.reader.latestOf(v) : this.reader.latest(v as string);
  }
  variables(): Promise<string[]> {
    return this.reader.variables();
  }

  async stats(): Promise<StoreStats> {
    if (this.options.readOnly) await this.refresh();
    const { manifest, buffers } = this.state;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let segmentPoints = 0;
    let segmentBytes = 0;
    for (const s of manifest.segments) {
      segmentPoints += s.rows;
      segmentBytes += s.bytes;
      min = Math.min(min, s.minMicros);
      max = Math.max(max, s.maxMicros);
    }
    let bufferedPoints = 0;
    for (const map of [buffers.frozen, buffers.active]) {
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
      // Read after the await: a read-only store's variables() refreshes the manifest again.
      segments: this.state.manifest.segments.length,
      segmentBytes,
      walBytes: this.log.walBytes,
      walFiles: this.log.walFiles,
      lastSeq: this.log.committedSeq,
      compactedSeq: this.options.readOnly
        ? Math.max(this.state.manifest.compactedSeq, ...Object.values(this.state.manifest.writers ?? {}))
        : compactedSeqOf(this.state.manifest, this.log.writerId),
    };
    if (Number.isFinite(min)) stats.minTimestamp = formatMicros(min);
    if (Number.isFinite(max)) stats.maxTimestamp = formatMicros(max);
    return stats;
  }

  /**
   * Writes every buffered point to Parquet segments, publishes the manifest, then drops the log
   * files it covered. Appends continue meanwhile; concurrent calls share one run (and the
   * `onProgress` of the call that started it: points written, `ts-compact`).
   */
  compact(options: { onProgress?: ProgressFn } = {}): Promise<CompactResult> {
    return this.maintenance.compact(options.onProgress);
  }

  /**
   * Deletes points older than `olderThan` (a timestamp, or a duration like '30d' meaning that long
   * before now). Buffered points are compacted first; late points older than the cut-off written
   * afterwards are never returned and are dropped by the next compaction.
   */
  applyRetention(options: { olderThan: TimestampInput }): Promise<RetentionResult> {
    return this.maintenance.applyRetention(options);
  }

  /** Imports the seed's layout: a directory of `<variable>.jsonl` files (or one .jsonl/.csv file). */
  importJsonl(dirOrFile: string, options: ImportOptions = {}): Promise<ImportResult> {
    this.log.writable();
    return importPath(this.log, dirOrFile, options);
  }

  /** Exports one variable (or all) as seed-layout JSONL files, one CSV or one Parquet file. */
  export(variable: string | undefined, options: ExportOptions): Promise<{ files: string[]; points: number }> {
    return exportStore(this.reader, this.state.engine, variable, options);
  }

  async close(): Promise<void> {
    if (this.log.closed) return;
    await this.maintenance.stop();
    await this.log.close();
    await this.state.lineage
      ?.flush()
      .catch((error) => getLogger().warn({ err: error, store: this.url }, 'cannot write lineage records'));
    this.state.lineage?.close();
    if (this.registered) openWriters.delete(this.options.identity);
    this.registered = false;
    await this.state.engine.close();
    if (this.ownsStorage) await this.state.storage.close();
    await this.state.segments.cleanup();
  }
}
