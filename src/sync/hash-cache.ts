/**
 * Remembers sha256 per object version (key + etag + size) for a storage, in one JSON file per
 * storage URL, so a no-op sync neither re-reads local files nor sends a HEAD per object. A stale
 * or missing cache only costs time: entries are trusted only when etag and size still match.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * The cache file: one array per field, slot i describing keys[i]. Arrays of strings and numbers
 * parse in less than half the time of one object per key (1.6 s against 3.5 s for a million).
 * Version 1 files (`entries: {key: {e, s, h, t}}`) are still read.
 */
interface CacheFile {
  url: string;
  v: 2;
  keys: string[];
  etags: string[];
  sizes: number[];
  hashes: string[];
  /** When each hash was taken (ms since epoch). */
  times: number[];
}

interface CacheFileV1 {
  url: string;
  entries: Record<string, { e: string; s: number; h: string; t: number }>;
}

export function defaultCacheDir(): string {
  return (
    process.env.SLUICE_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'sluice', 'sync')
  );
}

/** Timestamps with no sub-second part suggest a coarse (1–2 s) file system clock. */
function racyWindow(mtime: Date): number {
  return mtime.getTime() % 1000 === 0 ? 2000 : 100;
}

export class HashCache {
  /** Key → slot in the field arrays. A deleted key leaves its slot behind until the next save. */
  private slots = new Map<string, number>();
  private etags: string[] = [];
  private sizes: number[] = [];
  private hashes: string[] = [];
  private times: number[] = [];
  private sorted: string[] | undefined;
  private dirty = 0;
  readonly file: string | undefined;

  private constructor(file: string | undefined) {
    this.file = file;
  }

  /** A cache for `url` in `dir`; `dir === false` keeps it in memory only. */
  static async open(url: string, dir: string | false): Promise<HashCache> {
    if (dir === false || url.startsWith('memory://')) return new HashCache(undefined);
    const file = path.join(dir, `${createHash('sha1').update(url).digest('hex')}.json`);
    const cache = new HashCache(file);
    try {
      // Read synchronously: parsing blocks anyway, and the listing that waits for these keys
      // (ListOptions.expectedKeys) should not also wait for a thread-pool round trip.
      const data = JSON.parse(readFileSync(file, 'utf8')) as CacheFile | CacheFileV1;
      if (data.url === url) cache.load(data);
    } catch {
      // No cache yet, or an unreadable one: start empty.
    }
    return cache;
  }

  private load(data: CacheFile | CacheFileV1): void {
    if ('v' in data && data.v === 2) {
      const { keys, etags, sizes, hashes, times } = data;
      const n = keys.length;
      // A torn or foreign file is no cache at all.
      if (![etags, sizes, hashes, times].every((a) => Array.isArray(a) && a.length === n)) return;
      for (let i = 0; i < n; i++) this.slots.set(keys[i] as string, i);
      this.etags = etags;
      this.sizes = sizes;
      this.hashes = hashes;
      this.times = times;
      return;
    }
    if ('entries' in data && typeof data.entries === 'object' && data.entries !== null) {
      for (const [key, e] of Object.entries(data.entries)) this.set(key, e.e, e.s, e.h, e.t);
      this.dirty = 0;
    }
  }

  /**
   * The cached hash when etag and size match. With `mtime` (local files), only when the file was
   * last modified clearly before the hash was taken: a file rewritten within one timestamp tick
   * keeps inode, size and mtime, so its etag cannot tell the versions apart (git's "racy clean").
   */
  get(key: string, etag: string, size: number, mtime?: Date): string | undefined {
    const i = this.slots.get(key);
    if (i === undefined || this.etags[i] !== etag || this.sizes[i] !== size) return undefined;
    if (mtime && mtime.getTime() + racyWindow(mtime) >= (this.times[i] as number)) return undefined;
    return this.hashes[i];
  }

  set(key: string, etag: string, size: number, sha256: string, at = Date.now()): void {
    let i = this.slots.get(key);
    if (i === undefined) {
      i = this.etags.length;
      this.slots.set(key, i);
      this.sorted = undefined;
    }
    this.etags[i] = etag;
    this.sizes[i] = size;
    this.hashes[i] = sha256;
    this.times[i] = at;
    this.dirty += 1;
  }

  delete(key: string): void {
    if (this.slots.delete(key)) {
      this.sorted = undefined;
      this.dirty += 1;
    }
  }

  /**
   * The cached keys sorted, or undefined when the cache is empty: a listing hint. Sorted by UTF-16
   * code units, which is byte order except where astral characters meet U+E000–U+FFFF; a hint
   * in a slightly different order only helps less. The native sort takes half the time
   * compareKeys takes (0.75 s against 1.6 s for a million keys here).
   */
  sortedKeys(): string[] | undefined {
    if (this.slots.size === 0) return undefined;
    this.sorted ??= [...this.slots.keys()].sort();
    return this.sorted;
  }

  get pending(): number {
    return this.dirty;
  }

  /** Writes the cache atomically (temp file + rename) when it changed; deleted keys' slots go. */
  async save(url: string): Promise<void> {
    if (!this.file || this.dirty === 0) return;
    this.dirty = 0;
    const file: CacheFile = { url, v: 2, keys: [], etags: [], sizes: [], hashes: [], times: [] };
    for (const [key, i] of this.slots) {
      file.keys.push(key);
      file.etags.push(this.etags[i] as string);
      file.sizes.push(this.sizes[i] as number);
      file.hashes.push(this.hashes[i] as string);
      file.times.push(this.times[i] as number);
    }
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(file));
    await fsp.rename(tmp, this.file);
  }
}
