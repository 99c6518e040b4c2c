/**
 * Listing a local folder tree as storage keys, for the fs driver: S3's key order, lazily, with
 * file stats taken in cheap synchronous batches while the file system answers fast.
 */
import { type Dirent, type Stats, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../../../errors.ts';
import { fromOsError } from '../../../os-errors.ts';
import {
  assertValidPrefix,
  compareKeys,
  LEGACY_META_DIR,
  META_SUBDIR,
  RESERVED_SEGMENTS,
  SLUICE_DIR,
  TEMP_SUFFIX,
} from '../../keys.ts';
import type { ListEntry, ListOptions } from '../../types.ts';

/** The fs driver's etag: changes whenever the file is replaced or rewritten. */
export function etagOf(st: { ino: number; size: number; mtimeMs: number }): string {
  return `${st.ino.toString(16)}-${st.size.toString(16)}-${Math.round(st.mtimeMs * 1000).toString(16)}`;
}

/**
 * Sluice's own entries of a folder the listing reads (keys.ts `isListed`, by name): legacy
 * `.sluice-meta/` folders, temp files, a `_sluice/` folder (a listing only reads folders at or
 * below its prefix's folder, so one it meets is never named by the prefix) and the `meta/`
 * folder inside a `_sluice/` the prefix names.
 */
function isHidden(name: string, dirRel: string): boolean {
  if (name === SLUICE_DIR) return true;
  if (name === META_SUBDIR) return dirRel === `${SLUICE_DIR}/` || dirRel.endsWith(`/${SLUICE_DIR}/`);
  return RESERVED_SEGMENTS.has(name) || name.endsWith(TEMP_SUFFIX);
}

/**
 * Walks the tree in S3's order: at each level, folders sort as `name/`, so `a-b` (0x2d) comes
 * before `a/x` (0x2f) exactly as the flat keys would sort. Lazily, so huge trees stream. One
 * generator with an explicit stack of pending entries: nested `yield*` generators cost a promise
 * per entry per level, which was a third of walking a 2,000-file tree. `onLegacyMeta` runs (and
 * is awaited) when a folder holds a legacy `.sluice-meta/` folder: the driver migrates it.
 */
export async function* listFs(
  root: string,
  opts: ListOptions,
  onLegacyMeta?: () => Promise<unknown>,
): AsyncIterable<ListEntry> {
  const prefix = assertValidPrefix(opts.prefix ?? '');
  const recursive = opts.recursive ?? true;
  const cut = prefix.lastIndexOf('/');
  const dirKey = cut >= 0 ? prefix.slice(0, cut + 1) : '';
  const namePrefix = prefix.slice(dirKey.length);
  const { startAfter } = opts;
  const before = (rel: string) => startAfter !== undefined && compareKeys(rel, startAfter) <= 0;

  /** Entries of one folder, sorted in key order (`st`: undefined = not stat-ed yet, null = gone). */
  async function readFolder(dirRel: string, filter: string): Promise<Pending[]> {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(path.join(root, ...dirRel.split('/').filter(Boolean)), {
        withFileTypes: true,
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      const folder = path.join(root, dirRel);
      throw (
        fromOsError(error, { path: folder, access: 'read', context: { prefix: dirRel } }) ??
        new StorageError(`Cannot list ${folder}: ${(error as Error).message}`, {
          cause: error,
          context: { prefix: dirRel },
        })
      );
    }
    const items: Pending[] = [];
    let legacy = false;
    for (const e of entries) {
      if (e.name === LEGACY_META_DIR) legacy = e.isDirectory();
      if (!e.name.startsWith(filter) || isHidden(e.name, dirRel)) continue;
      if (e.isDirectory()) items.push({ rel: `${dirRel}${e.name}/`, folder: true });
      else if (e.isFile()) items.push({ rel: dirRel + e.name, folder: false });
    }
    if (legacy && onLegacyMeta) await onLegacyMeta();
    return items.sort((a, b) => compareKeys(a.rel, b.rel));
  }

  // Pending entries, the next one last: a folder's entries replace it in place, reversed.
  const stack = (await readFolder(dirKey, namePrefix)).reverse();
  let statInline = true;
  let batchAt = 0;
  /**
   * Stats the next files (up to STAT_CHUNK, in order) synchronously. On local disk a stat takes a
   * few µs, and a thread-pool round trip per file cost 5–6× the CPU of the whole walk. A file
   * system slow enough to block the event loop (a network mount) switches the listing to
   * asynchronous stats for good, mid-batch.
   */
  const statNextFiles = () => {
    batchAt = performance.now();
    for (let i = stack.length - 1, n = 0; i >= 0 && n < STAT_CHUNK; i--) {
      const item = stack[i] as Pending;
      if (item.folder) break;
      if (item.st !== undefined || before(item.rel)) continue;
      item.st = statQuietly(path.join(root, item.rel));
      n++;
      if (performance.now() - batchAt > SLOW_STAT_BATCH_MS) {
        statInline = false;
        return;
      }
    }
  };
  /** Drops stats taken ahead of a slow consumer, so an entry never describes an older file. */
  const forgetStaleStats = () => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const item = stack[i] as Pending;
      if (item.folder || item.st === undefined) break;
      item.st = undefined;
    }
  };
  while (stack.length > 0) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const top = stack[stack.length - 1] as Pending;
    if (!top.folder && top.st !== undefined && performance.now() - batchAt > FRESH_STAT_MS)
      forgetStaleStats();
    if (statInline && !top.folder && top.st === undefined) statNextFiles();
    const { rel, folder, st: known } = stack.pop() as Pending;
    if (folder) {
      // Skip folders wholly before startAfter; enter the one that holds it.
      if (startAfter !== undefined && compareKeys(rel, startAfter) < 0 && !startAfter.startsWith(rel))
        continue;
      if (!recursive) yield { type: 'prefix', prefix: rel };
      else for (const child of (await readFolder(rel, '')).reverse()) stack.push(child);
      continue;
    }
    if (before(rel)) continue;
    const st = known === undefined ? await fsp.stat(path.join(root, rel)).catch(() => null) : known;
    if (st?.isFile()) {
      // new Date(mtimeMs), not st.mtime: Stats define their Date fields lazily with
      // defineProperty, which costs more than the stat itself.
      yield { type: 'object', key: rel, size: st.size, mtime: new Date(st.mtimeMs), etag: etagOf(st) };
    }
  }
}

interface Pending {
  rel: string;
  folder: boolean;
  st?: Stats | null;
}

const STAT_CHUNK = 256;
/** A stat batch taking longer than this means a slow (network) file system. */
const SLOW_STAT_BATCH_MS = 20;
/** Stats older than this are taken again when their entry is yielded (the consumer was slow). */
const FRESH_STAT_MS = 25;

/** Stats of a file, or null when it vanished or cannot be stat-ed (the listing skips it). */
function statQuietly(file: string): Stats | null {
  try {
    return statSync(file, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}
