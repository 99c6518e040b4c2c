/**
 * Parquet segments and the manifest that publishes them. One segment per (variable, time window);
 * compacting late points into a window rewrites that window's segment, so segments never overlap
 * and a query of one window reads one file. The manifest is written last and atomically: readers
 * see the old set of segments or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Engine, quoteLiteral } from '../engine/duckdb.ts';
import type { Storage } from '../storage/types.ts';
import { T_BOOL, T_NUMBER, T_STRING } from './codec.ts';
import type { Columns } from './columns.ts';
import { MANIFEST_KEY, type Manifest, readManifest, type SegmentEntry } from './manifest.ts';

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

/**
 * Whether the value column holds both 0 and -0. DuckDB's Parquet dictionary (1.5) files them as
 * one value, so a segment written with it would return whichever came first for both.
 */
function hasSignedZeros(cols: Columns): boolean {
  let signs = 0;
  for (let i = 0; i < cols.length; i++) {
    const t = cols.type[i];
    const v = cols.num[i] as number;
    if ((t === T_NUMBER || t === T_BOOL) && v === 0) signs |= 1 / v < 0 ? 1 : 2;
    if (signs === 3) return true;
  }
  return false;
}

/**
 * The column's strings with repeats sharing one string object: metadata is mostly a few distinct
 * JSON texts repeated on every row, and one object per row made a reader's memory grow with the
 * rows it had read, not with what they say.
 */
function interned(column: (string | null)[]): (string | undefined)[] {
  const seen = new Map<string, string>();
  const out = new Array<string | undefined>(column.length);
  for (let i = 0; i < column.length; i++) {
    const s = column[i];
    if (s === null || s === undefined) continue;
    let one = seen.get(s);
    if (one === undefined) {
      if (seen.size < 65_536) seen.set(s, s);
      one = s;
    }
    out[i] = one;
  }
  return out;
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

  async publish(manifest: Manifest): Promise<void> {
    manifest.updatedAt = new Date().toISOString();
    await this.storage.put(MANIFEST_KEY, JSON.stringify(manifest));
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
        // order of duplicates, so the row number serves as their sequence.
        const reader = await conn.runAndReadAll(
          `SELECT epoch_us(ts)::DOUBLE AS micros, type, value, str, meta FROM read_parquet(${quoteLiteral(file)})`,
        );
        const [micros = [], type = [], value = [], str = [], meta = []] = reader.getColumnsJS();
        const n = micros.length;
        const seq = new Float64Array(n);
        for (let i = 0; i < n; i++) seq[i] = i;
        const c: Columns = {
          length: n,
          micros: Float64Array.from(micros as number[]),
          seq,
          type: Uint8Array.from(type as number[]),
          num: Float64Array.from(value as (number | null)[], (v) => v ?? 0),
          strs: interned(str as (string | null)[]),
          metas: interned(meta as (string | null)[]),
        };
        return c;
      });
      this.remember(entry.key, cols);
      return cols;
    } finally {
      await cleanup();
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
    const table = `seg_${id.replace(/[^a-z0-9]/g, '_')}`;
    // DuckDB writes a local file; the storage put then publishes it atomically (fs or S3).
    const file = path.join(await this.tmpDir(), `write-${id}.parquet`);
    try {
      await this.engine.withConnection(async (conn) => {
        await conn.run(
          `CREATE TABLE ${table} (micros DOUBLE, type UTINYINT, value DOUBLE, str VARCHAR, meta VARCHAR)`,
        );
        try {
          const app = await conn.createAppender(table);
          for (let i = 0; i < cols.length; i++) {
            // The appender is synchronous: yield now and then so appends and queries keep flowing.
            if (i % 50_000 === 49_999) await new Promise((r) => setImmediate(r));
            const t = cols.type[i] as number;
            app.appendDouble(cols.micros[i] as number);
            app.appendUTinyInt(t);
            if (t === 1 || t === 3) app.appendDouble(cols.num[i] as number);
            else app.appendNull();
            const s = t === T_STRING ? cols.strs[i] : undefined;
            if (s === undefined) app.appendNull();
            else app.appendVarchar(s);
            const m = cols.metas[i];
            if (m === undefined) app.appendNull();
            else app.appendVarchar(m);
            app.endRow();
          }
          app.closeSync();
          // cols are already sorted and resolved; DuckDB keeps insertion order, so no ORDER BY.
          await conn.run(
            `COPY (SELECT ${quoteLiteral(variable)} AS variable, make_timestamp(micros::BIGINT) AS ts,
                          type, value, str, meta
                   FROM ${table})
             TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2, ROW_GROUP_SIZE 1000000${hasSignedZeros(cols) ? ', DICTIONARY_SIZE_LIMIT 0' : ''})`,
          );
        } finally {
          await conn.run(`DROP TABLE IF EXISTS ${table}`);
        }
      });
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
