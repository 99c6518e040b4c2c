/**
 * Moves a local root's legacy sidecars (`<dir>/.sluice-meta/<name>.json`, kept beside the data
 * by earlier versions) to `<root>/_sluice/meta/<key>.json`.
 *
 * Crash-safe: every sidecar of a folder first gets its new name as a hard link (the same file,
 * whose bytes the old driver made durable: no copy and no file fsync; 3,000 sidecars took 2.7 s
 * with copies, mostly fsyncs, and 0.7 s with links), the new folders are fsynced, and only then
 * are the old names removed. A kill -9 at any moment leaves each sidecar in the old place, the
 * new one or both, and the next pass finishes the job. A sidecar already in the new place wins (a
 * put wrote it since). Where hard links fail (another file system), a durable copy.
 *
 * Dropped, not moved: sidecars that describe no current file (deleted or rewritten since), and
 * those holding nothing but the content type the extension implies (the driver keeps none).
 */
import type { Dirent } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { makeDirectory, syncDirectory } from '../../../util/fsync-dir.ts';
import { contentTypeFor } from '../../content-types.ts';
import { isValidKey, LEGACY_META_DIR, RESERVED_SEGMENTS, SLUICE_DIR, TEMP_SUFFIX } from '../../keys.ts';
import {
  isBound,
  parseSidecar,
  publishText,
  type Sidecar,
  sidecarPath,
  unlinkQuietly,
} from './meta-files.ts';

export interface MigrationResult {
  /** Sidecars whose metadata is now in `_sluice/meta/`. */
  moved: number;
  /** Sidecars that described no current file, or nothing the extension does not imply. */
  dropped: number;
  /** `.sluice-meta` folders met. */
  folders: number;
}

/** Sidecars read, checked and linked at once. */
const COPY_CONCURRENCY = 16;

/**
 * Walks the tree under `root` for `.sluice-meta` folders and moves their sidecars. A folder that
 * holds its own `_sluice/` is another root (opened on its own, as a writer's task folder is) and
 * is left to it. Throws if a folder cannot be read: the root is then not known to be migrated.
 */
export async function migrateLegacySidecars(root: string, durable: boolean): Promise<MigrationResult> {
  const result: MigrationResult = { moved: 0, dropped: 0, folders: 0 };
  const pending = [''];
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    const dir = path.join(root, ...rel.split('/').filter(Boolean));
    const entries = await readFolder(dir);
    if (rel !== '' && entries.some((e) => e.name === SLUICE_DIR && e.isDirectory())) continue;
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name === LEGACY_META_DIR) await migrateFolder(root, rel, path.join(dir, e.name), durable, result);
      else if (!RESERVED_SEGMENTS.has(e.name) && e.name !== SLUICE_DIR) pending.push(`${rel}${e.name}/`);
    }
  }
  return result;
}

async function readFolder(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}

/** One `.sluice-meta` folder: copy what is worth keeping, then remove the old files and the folder. */
async function migrateFolder(
  root: string,
  rel: string,
  metaDir: string,
  durable: boolean,
  result: MigrationResult,
): Promise<void> {
  result.folders += 1;
  const limit = pLimit(COPY_CONCURRENCY);
  const done: string[] = [];
  const linkedInto = new Set<string>();
  const entries = await readFolder(metaDir);
  await Promise.all(
    entries.map((e) =>
      limit(async () => {
        if (!e.isFile()) return;
        const old = path.join(metaDir, e.name);
        // A temp file of a put killed by an earlier version.
        if (e.name.endsWith(TEMP_SUFFIX)) done.push(old);
        if (!e.name.endsWith('.json')) return;
        const key = `${rel}${e.name.slice(0, -'.json'.length)}`;
        const text = await fsp.readFile(old, 'utf8').catch(() => undefined);
        // Gone: a concurrent pass has taken it.
        if (text === undefined) return;
        if (await worthKeeping(root, key, parseSidecar(text))) {
          const target = sidecarPath(root, key);
          const linked = await linkOrCopy(old, target, text, durable);
          if (linked === 'gone') return;
          if (linked === 'linked') linkedInto.add(path.dirname(target));
          result.moved += 1;
        } else result.dropped += 1;
        done.push(old);
      }),
    ),
  );
  // Every new name is durable by now (copies fsync their own folder): only then may the old go.
  if (durable) await Promise.all([...linkedInto].map((dir) => syncDirectory(dir)));
  for (const old of done) await unlinkQuietly(old);
  // Not empty: something sluice did not write is in it, and stays.
  await fsp.rmdir(metaDir).catch(() => undefined);
}

/**
 * Gives `old` the name `target`: 'linked' (a hard link, same bytes), 'kept' (a sidecar is there
 * already and wins, or it was copied), 'gone' (`old` vanished: a concurrent pass took it).
 */
async function linkOrCopy(
  old: string,
  target: string,
  text: string,
  durable: boolean,
): Promise<'linked' | 'kept' | 'gone'> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.link(old, target);
      return 'linked';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return 'kept';
      if (code === 'ENOENT' && attempt === 0) {
        await makeDirectory(path.dirname(target), durable);
        continue;
      }
      if (code === 'ENOENT') return 'gone';
      // No hard links across these folders (another mount, a file system without them).
      if (code === 'EXDEV' || code === 'EPERM' || code === 'ENOTSUP' || code === 'EMLINK') {
        await publishText(target, text, durable, true);
        return 'kept';
      }
      throw error;
    }
  }
}

/** A sidecar bound to the current file, with something the extension does not say. */
async function worthKeeping(root: string, key: string, sidecar: Sidecar | undefined): Promise<boolean> {
  if (!sidecar || !isValidKey(key)) return false;
  const st = await fsp.stat(path.join(root, ...key.split('/'))).catch(() => undefined);
  if (!st?.isFile() || !isBound(sidecar, st)) return false;
  const typed = sidecar.contentType !== undefined && sidecar.contentType !== contentTypeFor(key);
  return typed || Object.keys(sidecar.metadata).length > 0;
}
