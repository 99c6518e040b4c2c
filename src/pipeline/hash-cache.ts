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

interface Entry {
  e: string;
  s: number;
  h: string;
  /** When the hash was taken (ms since epoch). */
  t: number;
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
  private entries = new Map<string, Entry>();
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
      const data = JSON.parse(readFileSync(file, 'utf8')) as {
        url: string;
        entries: Record<string, Entry>;
      };
      if (data.url === url) cache.entries = new Map(Object.entries(data.entries));
    } catch {
      // No cache yet, or an unreadable one: start empty.
    }
    return cache;
  }

  /**
   * The cached hash when etag and size match. With `mtime` (local files), only when the file was
   * last modified clearly before the hash was taken: a file rewritten within one timestamp tick
   * keeps inode, size and mtime, so its etag cannot tell the versions apart (git's "racy clean").
   */
  get(key: string, etag: string, size: number, mtime?: Date): string | undefined {
    const e = this.entries.get(key);
    if (!e || e.e !== etag || e.s !== size) return undefined;
    if (mtime && mtime.getTime() + racyWindow(mtime) >= e.t) return undefined;
    return e.h;
  }

  set(key: string, etag: string, size: number, sha256: string, at = Date.now()): void {
    this.entries.set(key, { e: etag, s: size, h: sha256, t: at });
    this.dirty += 1;
  }

  delete(key: string): void {
    if (this.entries.delete(key)) this.dirty += 1;
  }

  /**
   * The cached keys sorted, or undefined when the cache is empty: a listing hint. Sorted by UTF-16
   * code units, which is byte order except where astral characters meet U+E000–U+FFFF; a hint
   * in a slightly different order only helps less. The native sort takes half the time
   * compareKeys takes (0.75 s against 1.6 s for a million keys here).
   */
  sortedKeys(): string[] | undefined {
    if (this.entries.size === 0) return undefined;
    return [...this.entries.keys()].sort();
  }

  get pending(): number {
    return this.dirty;
  }

  /** Writes the cache atomically (temp file + rename) when it changed. */
  async save(url: string): Promise<void> {
    if (!this.file || this.dirty === 0) return;
    this.dirty = 0;
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify({ url, entries: Object.fromEntries(this.entries) }));
    await fsp.rename(tmp, this.file);
  }
}
