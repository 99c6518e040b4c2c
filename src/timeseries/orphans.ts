/**
 * Files a store's manifest does not name: segments of a compaction killed before it published its
 * manifest (or after, before it deleted the segments it replaced), and temp files of puts killed
 * before their rename. Queries never read them (they go by the manifest), but they take space.
 * A compaction refused by a full disk deletes its own segments (compact.ts); these are what a
 * kill leaves, or a cleanup that failed in turn.
 *
 * Two places remove them, once the store has a published manifest to compare with:
 * - the writer, when it opens the store: it holds the store's lock, so no compaction is under
 *   way and every file the manifest does not name is an orphan, however new;
 * - `sluice storage gc` (collectStoreGarbage), for stores under a local root: only files older
 *   than its age limit (a compaction in flight writes fresh ones) and never in a store whose
 *   writer is alive (it cleans up after itself when it next opens). Temp files there are the
 *   storage gc's own (storage/gc.ts), like any other `*.sluice-tmp`.
 * Both record a lineage `delete` for each removed segment the store's log names (a killed
 * compaction's intent, or its commit), durable before the file goes: `lineage verify` then
 * reports it `deleted`, not `missing`.
 */
import type { Dirent } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../errors.ts';
import { lineageEnabled } from '../lineage/grouped.ts';
import { LineageLog, outputUrl, readLineage } from '../lineage/index.ts';
import { RESERVED_SEGMENTS, SLUICE_DIR, TEMP_SUFFIX } from '../storage/keys.ts';
import { openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { MANIFEST_KEY, type Manifest, readManifest } from './manifest.ts';
import { WAL_FILE_RE } from './wal-files.ts';
import { listSlots, liveWriter } from './writer-slots.ts';

/**
 * What compaction names segment files: `segments/window=<start>/<id>.parquet` (files of many
 * variables), and `segments/var=<name>/window=<start>/<id>.parquet` in stores written before.
 */
const SEGMENT_KEY = /^segments\/(var=[^/]+\/)?window=[^/]+\/[^/]+\.parquet$/;
const MANIFEST_TEMP = /^\.manifest\.json\.[0-9a-f]+\.sluice-tmp$/;

export interface OrphanFile {
  /** Key in the store (`segments/…`), or the file's path relative to the store for temp files. */
  key: string;
  kind: 'orphan-segment' | 'temp';
  bytes: number;
  mtime: Date;
}

export interface OrphanOptions {
  /** Only files last modified at or before this time (ms since the epoch). @default no limit */
  cutoffMs?: number;
  /** Find, remove nothing. @default false */
  dryRun?: boolean;
  /** Also the temp files of unfinished puts in a local store (gc finds those everywhere itself). @default true */
  tempFiles?: boolean;
  /** Called with the orphan segments' keys before they are deleted (their lineage `delete` records). */
  beforeDelete?: (keys: string[]) => Promise<void>;
}

/** Segment objects `manifest` does not name. */
async function orphanSegments(storage: Storage, manifest: Manifest, cutoffMs: number): Promise<OrphanFile[]> {
  const named = new Set(manifest.segments.map((s) => s.key));
  const out: OrphanFile[] = [];
  for await (const e of storage.list({ prefix: 'segments/', recursive: true })) {
    if (e.type !== 'object' || named.has(e.key) || !SEGMENT_KEY.test(e.key)) continue;
    if (e.mtime.getTime() > cutoffMs) continue;
    out.push({ key: e.key, kind: 'orphan-segment', bytes: e.size, mtime: e.mtime });
  }
  return out;
}

/** Temp files of the store's own puts in a local store folder: under segments/, and the manifest's. */
async function tempFiles(dir: string, cutoffMs: number): Promise<OrphanFile[]> {
  const entries: Dirent[] = [
    ...(await fsp
      .readdir(path.join(dir, 'segments'), { recursive: true, withFileTypes: true })
      .catch(() => [])),
    ...(await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) =>
      MANIFEST_TEMP.test(e.name),
    ),
  ];
  const out: OrphanFile[] = [];
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith(TEMP_SUFFIX)) continue;
    const file = path.join(e.parentPath, e.name);
    const st = await fsp.lstat(file).catch(() => undefined);
    if (!st || st.mtimeMs > cutoffMs) continue;
    const key = path.relative(dir, file).split(path.sep).join('/');
    out.push({ key, kind: 'temp', bytes: st.size, mtime: new Date(st.mtimeMs) });
  }
  return out;
}

/**
 * Finds (and unless dryRun, removes) the orphan segments and temp files of the store on
 * `storage`, whose published manifest is `manifest`. Only for a caller that knows no compaction
 * of this store is under way (its writer, or gc for a store without one) or that passes a cutoff.
 */
export async function removeStoreOrphans(
  storage: Storage,
  manifest: Manifest,
  options: OrphanOptions = {},
): Promise<OrphanFile[]> {
  const cutoff = options.cutoffMs ?? Number.POSITIVE_INFINITY;
  // Without a published manifest nothing can be compared with it: the first compaction was
  // killed before publishing, or the manifest was lost (and may be restored). Segments wait
  // until a manifest is published.
  const published = await storage.exists(MANIFEST_KEY);
  const segments = published ? await orphanSegments(storage, manifest, cutoff) : [];
  const dir = storage.localPath ? path.dirname(storage.localPath(MANIFEST_KEY)) : undefined;
  const temps = dir === undefined || options.tempFiles === false ? [] : await tempFiles(dir, cutoff);
  if (!options.dryRun) {
    if (segments.length > 0) await options.beforeDelete?.(segments.map((s) => s.key));
    await storage.deleteMany(segments.map((s) => s.key));
    for (const t of temps) await fsp.rm(path.join(dir ?? '', ...t.key.split('/')), { force: true });
  }
  return [...segments, ...temps];
}

export interface StoreGarbage {
  /** Path relative to the gc root, with `/` separators. */
  path: string;
  kind: 'orphan-segment' | 'temp';
  bytes: number;
  mtime: Date;
}

export interface StoreGarbageResult {
  removed: StoreGarbage[];
  bytes: number;
  /** Stores left alone, and why (a live writer, an unreadable manifest). */
  skipped: { path: string; reason: string }[];
}

/** Whether `dir` (whose entries are `names`) holds a time-series store: segments beside a manifest or a log. */
async function isStore(dir: string, names: Set<string>): Promise<boolean> {
  if (!names.has('segments')) return false;
  if (names.has(MANIFEST_KEY)) return true;
  if (!names.has('wal')) return false;
  for (const slot of await listSlots(path.join(dir, 'wal'))) {
    const log = await fsp.readdir(slot.dir).catch(() => []);
    if (log.some((n) => WAL_FILE_RE.test(n))) return true;
  }
  return false;
}

/**
 * Finds the time-series stores under a local `root` and, for each one no live writer holds,
 * removes (unless dryRun) what orphans.ts describes, last modified at or before `cutoffMs`,
 * plus the staging files a killed writer left in `wal/scratch`.
 */
export async function collectStoreGarbage(
  root: string,
  options: { cutoffMs: number; dryRun: boolean },
): Promise<StoreGarbageResult> {
  const result: StoreGarbageResult = { removed: [], bytes: 0, skipped: [] };
  const rootAbs = path.resolve(root);
  const rel = (p: string) => path.relative(rootAbs, p).split(path.sep).join('/') || '.';
  const pending = [rootAbs];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    const names = new Set(entries.map((e) => e.name));
    if (!(await isStore(dir, names))) {
      for (const e of entries)
        if (e.isDirectory() && !RESERVED_SEGMENTS.has(e.name) && e.name !== SLUICE_DIR)
          pending.push(path.join(dir, e.name));
      continue;
    }
    const found = await storeGarbage(dir, options);
    if (typeof found === 'string') {
      result.skipped.push({ path: rel(dir), reason: found });
      continue;
    }
    for (const f of found) {
      result.removed.push({ ...f, path: rel(path.join(dir, ...f.key.split('/'))) });
      result.bytes += f.bytes;
    }
  }
  result.removed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}

/** One store's garbage, or the reason it is left alone. */
async function storeGarbage(
  dir: string,
  options: { cutoffMs: number; dryRun: boolean },
): Promise<OrphanFile[] | string> {
  const pid = await liveWriter(path.join(dir, 'wal'));
  if (pid !== undefined)
    return `its writer (process ${pid}) is running; it removes its orphans when it next opens`;
  const storage = openStorage(dir);
  try {
    let manifest: Manifest;
    try {
      manifest = await readManifest(storage);
    } catch (error) {
      // Without the manifest nothing can be told apart from an orphan.
      if (error instanceof SluiceError) return error.message;
      throw error;
    }
    // Temp files (`*.sluice-tmp`) are the storage gc's, wherever they are.
    let unreadableLog: SluiceError | undefined;
    const beforeDelete = async (keys: string[]) => {
      try {
        await recordDeletes(storage, keys);
      } catch (error) {
        if (error instanceof SluiceError) unreadableLog = error;
        throw error;
      }
    };
    let found: OrphanFile[];
    try {
      found = await removeStoreOrphans(storage, manifest, {
        ...options,
        tempFiles: false,
        ...(lineageEnabled() ? { beforeDelete } : {}),
      });
    } catch (error) {
      // Removing a recorded segment without its delete record would make it `missing`.
      if (unreadableLog)
        return `cannot record its deletes in the lineage log (${unreadableLog.code}: ${unreadableLog.message})`;
      throw error;
    }
    const slots = await listSlots(path.join(dir, 'wal'));
    for (const slot of slots) {
      const scratch = path.join(slot.dir, 'scratch');
      const rel = path.relative(dir, scratch).split(path.sep).join('/');
      for (const name of await fsp.readdir(scratch).catch(() => [])) {
        const file = path.join(scratch, name);
        const st = await fsp.lstat(file).catch(() => undefined);
        if (!st?.isFile() || st.mtimeMs > options.cutoffMs) continue;
        if (!options.dryRun) await fsp.rm(file, { force: true });
        found.push({ key: `${rel}/${name}`, kind: 'temp', bytes: st.size, mtime: new Date(st.mtimeMs) });
      }
    }
    return found;
  } finally {
    await storage.close();
  }
}

/**
 * The `delete` records of the segments gc removes that the store's lineage log names (a compaction
 * killed after its intents, or its commits, were stored), durable before the files go. A segment
 * no record names gets none: the log stays about what sluice wrote.
 */
async function recordDeletes(storage: Storage, keys: readonly string[]): Promise<void> {
  const index = await readLineage(storage);
  const recorded = keys.map((k) => outputUrl(storage, k)).filter((url) => index.byOutput.has(url));
  if (recorded.length === 0) return;
  const log = new LineageLog(storage);
  for (const url of recorded) log.deleted(url, 'storage.gc');
  await log.flush();
}
