/**
 * Parquet segments and the manifest that publishes them. A (variable, time window) holds a few
 * segments that never overlap in time: newer points are written beside the window's segments,
 * late points are merged into the ones they fall among (compact.ts), so segments never overlap
 * and a query of one window reads one file. The manifest is written last and atomically: readers
 * see the old set of segments or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Engine, quoteLiteral } from '../engine/duckdb.ts';
import { AlreadyExistsError, PreconditionFailedError } from '../errors.ts';
import type { PutOptions, Storage } from '../storage/types.ts';
import type { Columns } from './columns.ts';
import {
  MANIFEST_KEY,
  type Manifest,
  ManifestRaceError,
  manifestEtag,
  readManifest,
  rememberManifestEtag,
  type SegmentEntry,
} from './manifest.ts';
import { type BucketPartial, readSegmentBuckets, segmentBucketsSql } from './segment-aggregate.ts';
import { readColumns } from './segment-decode.ts';
import { lastPointOf, writeSegmentFile } from './segment-file-writer.ts';
import type { AggregateFn } from './types.ts';

// With the `u` flag a match is a whole code point; without it each half of a surrogate pair was
// matched alone and became U+FFFD's bytes, so `x😀` and `x😁` shared one folder.
const UNSAFE_IN_KEY = /[^A-Za-z0-9_.-]/gu;

/**
 * Variable names become one key segment: safe characters kept, every other code point as its
 * UTF-8 bytes `%XX`, and a lone surrogate (which has no UTF-8) as `%uXXXX`. Decoding is
 * unambiguous, so distinct names never share a key. Names without surrogates encode as before;
 * keys of published segments are read from the manifest, never recomputed, so stores written
 * with the old encoding open unchanged.
 */
export function encodeVariableForKey(variable: string): string {
  return variable.replace(UNSAFE_IN_KEY, (c) => {
    const unit = c.charCodeAt(0);
    if (c.length === 1 && unit >= 0xd800 && unit <= 0xdfff) return `%u${unit.toString(16).toUpperCase()}`;
    return [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  });
}

export class SegmentFiles {
  private readonly storage: Storage;
  private readonly engine: Engine;
  private tmp: Promise<string> | undefined;
  /** Decoded segments by key; keys are never reused, so entries never go stale. */
  private cache = new Map<string, Columns>();
  private cachedRows = 0;
  private readonly maxCachedRows: number;

  constructor(storage: Storage, engine: Engine, maxCachedRows = 4_000_000) {
    this.storage = storage;
    this.engine = engine;
    this.maxCachedRows = maxCachedRows;
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
  }

  loadManifest(): Promise<Manifest> {
    return readManifest(this.storage);
  }

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
      const put = await this.storage.put(MANIFEST_KEY, JSON.stringify(manifest), condition);
      rememberManifestEtag(manifest, put.etag);
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

  /** Local path DuckDB can read: the file itself on disk, a staged copy for S3. */
  private async localFile(key: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
    if (this.storage.capabilities.localFiles && this.storage.localPath) {
      return { file: this.storage.localPath(key), cleanup: async () => {} };
    }
    const file = path.join(await this.tmpDir(), `read-${randomBytes(6).toString('hex')}.parquet`);
    await fsp.writeFile(file, await this.storage.get(key));
    return { file, cleanup: () => fsp.rm(file, { force: true }) };
  }

  async read(entry: SegmentEntry): Promise<Columns> {
    const hit = this.cache.get(entry.key);
    if (hit) return hit;
    const { file, cleanup } = await this.localFile(entry.key);
    try {
      const cols = await this.engine.withConnection(async (conn) => {
        // Rows are stored sorted and resolved; file order (kept by DuckDB for one file) is the
        // order of duplicates, so the row number serves as their sequence. Read chunk by chunk
        // (2,048 rows) into typed columns sized from the manifest: a whole result as JS arrays
        // first made a reader's memory several times the segment's.
        const result = await conn.stream(
          `SELECT epoch_us(ts)::DOUBLE AS micros, type, value, str, meta FROM read_parquet(${quoteLiteral(file)})`,
        );
        return readColumns(result, entry.rows);
      });
      this.remember(entry.key, cols);
      return cols;
    } finally {
      await cleanup();
    }
  }

  /**
   * The segment's last point (greatest timestamp; of equal ones the last stored), read by DuckDB
   * without decoding the rest: `latest()` of many variables read whole segments before.
   */
  async lastPoint(entry: SegmentEntry): Promise<Columns> {
    const { file, cleanup } = await this.localFile(entry.key);
    try {
      return await this.engine.withConnection(async (conn) => {
        const result = await conn.stream(
          `SELECT epoch_us(ts)::DOUBLE AS micros, type, value, str, meta
           FROM read_parquet(${quoteLiteral(file)}, file_row_number = true)
           ORDER BY ts DESC, file_row_number DESC LIMIT 1`,
        );
        return readColumns(result, 1);
      });
    } finally {
      await cleanup();
    }
  }

  /** Whether the segment is decoded in this process's cache. */
  isDecoded(key: string): boolean {
    return this.cache.has(key);
  }

  /** The buckets in [lo, hi) µs of a window's segments, computed by DuckDB on the files (segment-aggregate.ts). */
  async buckets(
    entries: readonly SegmentEntry[],
    lo: number,
    hi: number,
    everyMicros: number,
    fn: AggregateFn,
  ): Promise<BucketPartial[]> {
    const staged: { file: string; cleanup: () => Promise<void> }[] = [];
    try {
      for (const e of entries) staged.push(await this.localFile(e.key));
      const sql = segmentBucketsSql(
        staged.map((s) => s.file),
        lo,
        hi,
        everyMicros,
        fn,
      );
      return await this.engine.withConnection((conn) => readSegmentBuckets(conn, sql));
    } finally {
      for (const s of staged) await s.cleanup();
    }
  }

  private remember(key: string, cols: Columns): void {
    this.cache.set(key, cols);
    this.cachedRows += cols.length;
    for (const [k, v] of this.cache) {
      if (this.cachedRows <= this.maxCachedRows) break;
      this.cache.delete(k);
      this.cachedRows -= v.length;
    }
  }

  forget(key: string): void {
    const c = this.cache.get(key);
    if (c) this.cachedRows -= c.length;
    this.cache.delete(key);
  }

  /** Writes sorted, resolved columns as one zstd Parquet segment and returns its entry (not yet published). */
  async write(variable: string, window: number, cols: Columns): Promise<SegmentEntry> {
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const day = new Date(window / 1000).toISOString().slice(0, 19).replaceAll(':', '');
    const key = `segments/var=${encodeVariableForKey(variable)}/window=${day}/${id}.parquet`;
    // DuckDB writes a local file; the storage put then publishes it atomically (fs or S3).
    const file = path.join(await this.tmpDir(), `write-${id}.parquet`);
    try {
      await writeSegmentFile(this.engine, file, variable, cols);
      const body = await fsp.readFile(file);
      const put = await this.storage.put(key, body);
      this.remember(key, cols);
      return {
        key,
        variable,
        window,
        minMicros: cols.micros[0] ?? 0,
        maxMicros: cols.micros[cols.length - 1] ?? 0,
        rows: cols.length,
        bytes: put.size,
        ...lastPointOf(cols),
      };
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) this.forget(k);
    if (keys.length > 0) await this.storage.deleteMany(keys);
  }
}
