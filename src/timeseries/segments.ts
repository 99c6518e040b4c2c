/**
 * Parquet segment files and the manifest that publishes them. A compaction writes one file per
 * window it touches, holding a run of sorted rows for each variable it has points of (files of
 * stores written before hold one variable each; both are read alike). A variable's segments in a
 * window never overlap in time: newer points are written beside them, late points merged into the
 * ones they fall among (compact-plan.ts). The manifest is written last and atomically: readers see
 * the old set of segments or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Connections } from '../engine/duckdb.ts';
import { AlreadyExistsError, PreconditionFailedError, TimeSeriesError } from '../errors.ts';
import type { PutOptions, Storage } from '../storage/types.ts';
import type { Columns } from './columns.ts';
import {
  entryId,
  type LastPoint,
  MANIFEST_KEY,
  type Manifest,
  ManifestRaceError,
  manifestEtag,
  readManifest,
  rememberPublished,
  type SegmentEntry,
  type SegmentFileInfo,
} from './manifest.ts';
import { encodeManifest } from './manifest-codec.ts';
import { MergeInputs } from './merge-inputs.ts';
import { ownColumns } from './own-columns.ts';
import { keyValueOf, readFooter } from './parquet/footer.ts';
import { releaseMemory } from './parquet/release.ts';
import { type BucketPartial, readSegmentBuckets, segmentBucketsSql } from './segment-aggregate.ts';
import { type SegmentSource, segmentBucketsJs } from './segment-buckets.ts';
import { readSegmentColumns } from './segment-columns.ts';
import {
  lastPointColumns,
  lastRowsSql,
  type RowRanges,
  readColumns,
  readLastRows,
  rowSlice,
  segmentRowsSql,
} from './segment-decode.ts';
import {
  encodeSegmentFile,
  firstCached,
  type RunEnd,
  type RunSource,
  rowsOf,
} from './segment-file-writer.ts';
import { decodeLastRows, LAST_ROWS_KEY } from './segment-last-rows.ts';
import type { DeclareSegment } from './segment-lineage.ts';
import { StagedFiles } from './staged-files.ts';
import type { AggregateFn } from './types.ts';

/** A run's rows in its file: all of a one-variable file, else its own. */
const rangeOf = (e: SegmentEntry): [number, number] => [e.rowStart ?? 0, (e.rowStart ?? 0) + e.rows];

/**
 * Runs of one file read in one query, up to this many; more (or most of the file) read the whole
 * file and cut it up: a filter with thousands of terms costs DuckDB more than the rows it saves.
 */
const RANGES_PER_QUERY = 32;

/** Files whose runs' last rows a process keeps (a file of 10,000 variables: 10,000 of them). */
const LAST_ROW_FILES = 64;

export class SegmentFiles {
  private readonly storage: Storage;
  private readonly engine: Connections;
  private tmp: Promise<string> | undefined;
  private staged: StagedFiles;
  /** Decoded segments by entryId; keys are never reused, so entries never go stale. */
  private cache = new Map<string, Columns>();
  private cachedRows = 0;
  private readonly maxCachedRows: number;

  constructor(storage: Storage, engine: Connections, maxCachedRows = 4_000_000) {
    this.storage = storage;
    this.engine = engine;
    this.maxCachedRows = maxCachedRows;
    this.staged = new StagedFiles(storage, () => this.tmpDir());
  }

  /**
   * Staging files go to `scratchDir` when set (the writer's, cleared when it opens, so files a
   * killed writer left are removed next time), else to a temp directory made on first use.
   */
  scratchDir: string | undefined;

  private tmpDir(): Promise<string> {
    const fixed = this.scratchDir;
    this.tmp ??= fixed
      ? fsp.mkdir(fixed, { recursive: true }).then(() => fixed)
      : fsp.mkdtemp(path.join(os.tmpdir(), 'sluice-ts-'));
    return this.tmp;
  }

  async cleanup(): Promise<void> {
    if (this.tmp) await fsp.rm(await this.tmp, { recursive: true, force: true });
    this.tmp = undefined;
    this.staged = new StagedFiles(this.storage, () => this.tmpDir());
  }

  /** The stored manifest: a stat when it is the one last read or published here (manifest.ts). */
  loadManifest = (): Promise<Manifest> => readManifest(this.storage);

  /**
   * Publishes `manifest`, made from `base`, only if the stored manifest is still `base` (a
   * compare-and-swap on its ETag; create-if-absent when there was none). A manifest published
   * in between fails it with ManifestRaceError, and nothing is written.
   */
  async publish(manifest: Manifest, base: Manifest): Promise<void> {
    manifest.updatedAt = new Date().toISOString();
    const etag = manifestEtag(base);
    // undefined: a base not read from the store (never so under the lease); written as before.
    const condition: PutOptions =
      etag === undefined ? {} : etag === null ? { ifNotExists: true } : { ifMatch: etag };
    try {
      const text = encodeManifest(manifest);
      const put = await this.storage.put(MANIFEST_KEY, text, condition);
      rememberPublished(this.storage, manifest, put.etag, text);
    } catch (error) {
      if (
        error instanceof PreconditionFailedError ||
        (error instanceof AlreadyExistsError && condition.ifNotExists)
      )
        throw new ManifestRaceError(
          `Time-series store ${this.storage.url}: another writer published ${MANIFEST_KEY} after this one read it; this run publishes nothing and is done again on the new manifest`,
          { cause: error, context: { key: MANIFEST_KEY } },
        );
      throw error;
    }
  }

  /** Rows of the file at `key` (`ranges` of them, or all), decoded in file order. */
  private async readFile(key: string, ranges: RowRanges, expected: number): Promise<Columns> {
    const { file, release } = await this.staged.acquire(key);
    try {
      // Rows are stored sorted and resolved; file order (kept by DuckDB for one file) is the
      // order of duplicates, so the row number serves as their sequence. Read chunk by chunk
      // (2,048 rows) into typed columns sized from the manifest: a whole result as JS arrays
      // first made a reader's memory several times the segment's.
      // Files sluice's encoder wrote are decoded in JS (segment-columns.ts), others by DuckDB.
      const cols =
        (await readSegmentColumns(file, ranges, `${this.storage.url}/${key}`)) ??
        (await this.engine.withConnection(async (conn) =>
          readColumns(await conn.stream(segmentRowsSql(file, ranges)), expected),
        ));
      // A file shorter than its entries say would hand one variable's rows to another.
      if (cols.length !== expected)
        throw new TimeSeriesError(
          `Time-series segment ${this.storage.url}/${key} has ${cols.length} rows where the manifest names ${expected}`,
          { context: { key, rows: cols.length, expected } },
        );
      return cols;
    } finally {
      await release();
    }
  }

  async read(entry: SegmentEntry): Promise<Columns> {
    const hit = this.cache.get(entryId(entry));
    if (hit) return hit;
    const cols = await this.readFile(
      entry.key,
      entry.rowStart === undefined ? 'all' : [rangeOf(entry)],
      entry.rows,
    );
    this.remember(entryId(entry), cols);
    return cols;
  }

  /**
   * The rows of many entries, in the order given: one query per file (a compaction merging
   * thousands of variables' runs of one file reads it once, not once per variable).
   */
  async readMany(entries: readonly SegmentEntry[]): Promise<Columns[]> {
    const out = new Array<Columns>(entries.length);
    const byKey = new Map<string, number[]>();
    entries.forEach((e, i) => {
      const hit = this.cache.get(entryId(e));
      if (hit) out[i] = hit;
      else {
        const list = byKey.get(e.key);
        if (list) list.push(i);
        else byKey.set(e.key, [i]);
      }
    });
    for (const [key, idx] of byKey) {
      idx.sort((i, j) => rangeOf(entries[i] as SegmentEntry)[0] - rangeOf(entries[j] as SegmentEntry)[0]);
      const runs = idx.map((i) => entries[i] as SegmentEntry);
      const wanted = runs.reduce((s, e) => s + e.rows, 0);
      const first = runs[0] as SegmentEntry;
      const fileRows = first.file?.rows ?? wanted;
      const whole = first.rowStart === undefined || runs.length > RANGES_PER_QUERY || wanted * 4 >= fileRows;
      const cols = await this.readFile(key, whole ? 'all' : runs.map(rangeOf), whole ? fileRows : wanted);
      // Not remembered: what a compaction reads, it replaces.
      let at = 0;
      runs.forEach((e, k) => {
        const [a, b] = whole ? rangeOf(e) : [at, at + e.rows];
        at += e.rows;
        out[idx[k] as number] = rowSlice(cols, a, b);
      });
    }
    return out;
  }

  /**
   * The segment's last point (greatest timestamp; of equal ones the last stored): its run's last
   * row. A file of many variables keeps every run's last point in its footer (segment-last-rows.ts),
   * read once for all its runs; of a file written before that, the first run asked for reads its
   * last row through DuckDB, a second one the last rows of all the file's runs in one scan.
   */
  async lastPoint(entry: SegmentEntry): Promise<Columns> {
    const [, end] = rangeOf(entry);
    if (entry.rowStart !== undefined) {
      const hit = (await this.lastRowsOf(entry.key))?.get(end - 1);
      if (hit) return lastPointColumns(entry.maxMicros, hit);
    }
    return this.readFile(entry.key, [[end - 1, end]], 1);
  }

  /** Last points of files' runs, by row number (undefined: not known without a scan); a few files' worth kept. */
  private lastRows = new Map<string, Promise<Map<number, LastPoint> | undefined>>();
  /** Files without them in the footer one run's last row was read of: the next run asked for scans them all. */
  private lastRowMisses = new Set<string>();

  private async lastRowsOf(key: string): Promise<Map<number, LastPoint> | undefined> {
    const known = await (this.lastRows.get(key) ?? this.keepLastRows(key, this.footerLastRows(key)));
    if (known) return known;
    if (!this.lastRowMisses.has(key)) {
      this.lastRowMisses.add(key);
      if (this.lastRowMisses.size > 4 * LAST_ROW_FILES) this.lastRowMisses.clear();
      return undefined;
    }
    return this.keepLastRows(key, this.scanLastRows(key));
  }

  private keepLastRows(
    key: string,
    rows: Promise<Map<number, LastPoint> | undefined>,
  ): Promise<Map<number, LastPoint> | undefined> {
    this.lastRows.set(key, rows);
    rows.catch(() => this.lastRows.delete(key));
    for (const k of this.lastRows.keys()) {
      if (this.lastRows.size <= LAST_ROW_FILES) break;
      this.lastRows.delete(k);
    }
    return rows;
  }

  /** The footer's last points, or undefined for a file without them or one that cannot be read so (then DuckDB reads it, and names what is wrong). */
  private async footerLastRows(key: string): Promise<Map<number, LastPoint> | undefined> {
    const { file, release } = await this.staged.acquire(key);
    try {
      const value = keyValueOf(await readFooter(file), LAST_ROWS_KEY);
      return value ? decodeLastRows(value) : undefined;
    } catch {
      return undefined;
    } finally {
      await release();
    }
  }

  private async scanLastRows(key: string): Promise<Map<number, LastPoint>> {
    const { file, release } = await this.staged.acquire(key);
    try {
      return await this.engine.withConnection(async (conn) =>
        readLastRows(await conn.runAndReadAll(lastRowsSql(file))),
      );
    } finally {
      await release();
    }
  }

  /** Whether the entry's rows are decoded in this process's cache. */
  isDecoded(entry: SegmentEntry): boolean {
    return this.cache.has(entryId(entry));
  }

  /**
   * The buckets in [lo, hi) µs of a window's segments: decoded in JS from files this package's
   * writer wrote (segment-buckets.ts: no DuckDB to start, only the row groups and columns needed),
   * else computed by DuckDB on the files (segment-aggregate.ts). A file that cannot be read throws
   * TimeSeriesError naming it.
   */
  async buckets(
    entries: readonly SegmentEntry[],
    lo: number,
    hi: number,
    everyMicros: number,
    fn: AggregateFn,
  ): Promise<BucketPartial[]> {
    const staged: { release: () => Promise<void> }[] = [];
    try {
      // In time order (a window's segments never overlap in time): the JS path adds rows in order.
      const ordered = [...entries].sort((a, b) => a.minMicros - b.minMicros);
      const files: SegmentSource[] = [];
      for (const e of ordered) {
        const s = await this.staged.acquire(e.key);
        staged.push(s);
        const name = `${this.storage.url}/${e.key}`;
        files.push(
          e.rowStart === undefined ? { file: s.file, name } : { file: s.file, range: rangeOf(e), name },
        );
      }
      const js = await segmentBucketsJs(files, lo, hi, everyMicros, fn);
      if (js) return js;
      const sql = segmentBucketsSql(files, lo, hi, everyMicros, fn);
      return await this.engine.withConnection((conn) => readSegmentBuckets(conn, sql));
    } finally {
      for (const s of staged) await s.release();
    }
  }

  private remember(id: string, cols: Columns): void {
    this.cache.set(id, cols);
    this.cachedRows += cols.length;
    for (const [k, v] of this.cache) {
      if (this.cachedRows <= this.maxCachedRows) break;
      this.cache.delete(k);
      this.cachedRows -= v.length;
    }
  }

  /** A compaction's input files, read a variable's run at a time (merge-inputs.ts). */
  mergeInputs(): MergeInputs {
    return new MergeInputs(this.staged, this.storage.url, (e) => this.cache.get(entryId(e)));
  }

  /** Drops replaced entries from the cache (their files may live on for other variables). */
  forget(entries: readonly SegmentEntry[]): void {
    for (const e of entries) {
      const id = entryId(e);
      const c = this.cache.get(id);
      if (c) this.cachedRows -= c.length;
      this.cache.delete(id);
    }
  }

  /**
   * Writes one segment file of window `window` holding `runs` (one per variable, each sorted and
   * resolved) and returns their entries (not yet published).
   */
  async write(window: number, runs: readonly RunSource[], declare?: DeclareSegment): Promise<SegmentEntry[]> {
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const day = new Date(window / 1000).toISOString().slice(0, 19).replaceAll(':', '');
    const key = `segments/window=${day}/${id}.parquet`;
    // Its lineage intent is durable before the file exists (segment-lineage.ts).
    const record = await declare?.(key);
    const rows = runs.reduce((s, r) => s + rowsOf(r), 0);
    // The runs the cache keeps, as columns of their own (ownColumns: not views pinning a set's block).
    const cachedFrom = firstCached(runs, this.maxCachedRows);
    const kept = new Map<number, Columns>();
    let put: { size: number };
    let out: { starts: number[]; ends: RunEnd[] };
    try {
      const keepCached = (k: number, c: Columns) => k >= cachedFrom && kept.set(k, c);
      const encoded = await encodeSegmentFile(runs, undefined, keepCached);
      out = { starts: encoded.starts, ends: encoded.ends };
      // The storage put publishes the file atomically (fs or S3).
      put = await this.storage.put(key, encoded.bytes);
      record?.commit(encoded.bytes, rows);
      releaseMemory(encoded.bytes); // written and hashed; a storage keeps a copy, never the caller's bytes
    } catch (error) {
      record?.abort(error);
      throw error;
    }
    const file: SegmentFileInfo = { rows, bytes: put.size };
    return runs.map((r, k) => {
      const end = out.ends[k] as RunEnd;
      const entry: SegmentEntry = {
        key,
        variable: r.variable,
        window,
        minMicros: end.minMicros,
        maxMicros: end.maxMicros,
        rows: end.rows,
        bytes: rows > 0 ? Math.round((put.size * end.rows) / rows) : 0,
        rowStart: out.starts[k] as number,
        file,
        ...(end.last ? { last: end.last } : {}),
      };
      const cols = kept.get(k);
      if (cols) this.remember(entryId(entry), ownColumns(cols));
      return entry;
    });
  }

  /** Deletes segment files (no manifest entry names them any more). */
  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.staged.forget(keys);
    await this.storage.deleteMany(keys);
  }
}
