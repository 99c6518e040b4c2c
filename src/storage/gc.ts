/**
 * Garbage a killed writer leaves in a local storage root: hidden temp files (`*.sluice-tmp`) of
 * puts that never reached their rename, and metadata sidecars (`_sluice/meta/<key>.json`, or
 * `<dir>/.sluice-meta/<name>.json` in a root not migrated yet) whose object is gone. Neither is
 * ever visible through the Storage API, but both take disk space. A `_sluice/` folder below the
 * root belongs to a folder opened as a root of its own, and is collected the same way.
 *
 * Only entries older than `olderThanMs` are touched, so a put or move in flight (whose temp file
 * or sidecar is seconds old) is never disturbed. S3 has no temp objects; abandoned multipart
 * uploads there are best left to a bucket lifecycle rule (AbortIncompleteMultipartUpload).
 */
import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, StorageError } from '../errors.ts';
import { MIGRATED_MARKER } from './drivers/fs/meta-files.ts';
import { LEGACY_META_DIR, META_SUBDIR, RESERVED_SEGMENTS, SLUICE_DIR, TEMP_SUFFIX } from './keys.ts';

export interface GarbageOptions {
  /** Only remove entries last modified longer ago than this. @default 24 h */
  olderThanMs?: number;
  /** Report what would be removed, remove nothing. @default false */
  dryRun?: boolean;
  /** @default Date.now() */
  now?: number;
}

export interface GarbageEntry {
  /** Path relative to the root, with `/` separators. */
  path: string;
  kind: 'temp' | 'orphan-metadata';
  bytes: number;
  mtime: Date;
}

export interface GarbageResult {
  dryRun: boolean;
  removed: GarbageEntry[];
  bytes: number;
}

/** Finds (and unless dryRun, removes) stale temp files and orphaned sidecars under `root`. */
export async function collectGarbage(root: string, options: GarbageOptions = {}): Promise<GarbageResult> {
  const olderThan = options.olderThanMs ?? 24 * 3_600_000;
  if (!Number.isFinite(olderThan) || olderThan < 0) {
    throw new StorageError(`collectGarbage: olderThanMs must be a duration ≥ 0, got ${olderThan}`, {
      context: { olderThanMs: olderThan },
    });
  }
  const cutoff = (options.now ?? Date.now()) - olderThan;
  const result: GarbageResult = { dryRun: options.dryRun ?? false, removed: [], bytes: 0 };
  const rootAbs = path.resolve(root);
  const rootStat = await fsp.stat(rootAbs).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new NotFoundError(`No folder at ${rootAbs} to collect garbage in`, { context: { path: rootAbs } });
  }

  async function consider(file: string, kind: GarbageEntry['kind']): Promise<void> {
    const st = await fsp.lstat(file).catch(() => undefined);
    if (!st?.isFile() || st.mtimeMs > cutoff) return;
    if (!result.dryRun) {
      try {
        if (kind === 'orphan-metadata' && !(await removeIfUnchanged(file, st))) return;
        if (kind === 'temp') await fsp.unlink(file);
      } catch (error) {
        // Gone meanwhile (another gc, or the writer finished): nothing to collect.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new StorageError(`Cannot remove ${file}: ${(error as Error).message}`, {
          cause: error,
          context: { path: file },
        });
      }
    }
    result.removed.push({
      path: path.relative(rootAbs, file).split(path.sep).join('/'),
      kind,
      bytes: st.size,
      mtime: new Date(st.mtimeMs),
    });
    result.bytes += st.size;
  }

  async function read(dir: string): Promise<Dirent[]> {
    try {
      return await fsp.readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new StorageError(`Cannot read ${dir}: ${(error as Error).message}`, {
        cause: error,
        context: { path: dir },
      });
    }
  }

  /** An orphan when `object` is no file (stat, not lstat: the driver follows a symlinked object). */
  async function considerSidecar(sidecar: string, object: string): Promise<void> {
    const exists = await fsp.stat(object).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) await consider(sidecar, 'orphan-metadata');
  }

  /** `<dir>/_sluice/meta/`: the sidecars of the objects under `dir`, mirroring their folders. */
  async function collectMetaHome(dir: string): Promise<void> {
    const home = path.join(dir, SLUICE_DIR, META_SUBDIR);
    const folders = [home];
    for (let at = folders.pop(); at !== undefined; at = folders.pop()) {
      for (const entry of await read(at)) {
        const full = path.join(at, entry.name);
        if (entry.isDirectory()) folders.push(full);
        else if (!entry.isFile() || (at === home && entry.name === MIGRATED_MARKER)) continue;
        else if (entry.name.endsWith(TEMP_SUFFIX)) await consider(full, 'temp');
        else if (entry.name.endsWith('.json'))
          await considerSidecar(full, path.join(dir, path.relative(home, full).slice(0, -'.json'.length)));
      }
    }
  }

  /** `<dir>/.sluice-meta/`: sidecars of the files beside it, as earlier versions kept them. */
  async function collectLegacyMeta(dir: string): Promise<void> {
    const full = path.join(dir, LEGACY_META_DIR);
    for (const meta of await read(full)) {
      if (!meta.isFile()) continue;
      if (meta.name.endsWith(TEMP_SUFFIX)) await consider(path.join(full, meta.name), 'temp');
      else if (meta.name.endsWith('.json'))
        await considerSidecar(
          path.join(full, meta.name),
          path.join(dir, meta.name.slice(0, -'.json'.length)),
        );
    }
  }

  const pending = [rootAbs];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of await read(dir)) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name === SLUICE_DIR) {
        await collectMetaHome(dir);
        // The rest of `_sluice/` (a lake's versions and records) is objects: only temp files there.
        for (const sub of await read(full)) {
          if (sub.isDirectory() && sub.name !== META_SUBDIR) pending.push(path.join(full, sub.name));
          else if (sub.isFile() && sub.name.endsWith(TEMP_SUFFIX))
            await consider(path.join(full, sub.name), 'temp');
        }
      } else if (entry.isDirectory() && entry.name === LEGACY_META_DIR) await collectLegacyMeta(dir);
      else if (entry.isDirectory() && !RESERVED_SEGMENTS.has(entry.name)) pending.push(full);
      else if (entry.isFile() && entry.name.endsWith(TEMP_SUFFIX)) await consider(full, 'temp');
    }
  }
  result.removed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}

/**
 * Removes a sidecar only if it is still the file that was judged orphaned. A put may rename a
 * fresh sidecar into place at any moment, so the candidate is first moved aside atomically; if
 * what was moved is another file, it goes back (unless a newer one already took its place).
 */
export async function removeIfUnchanged(file: string, judged: Stats): Promise<boolean> {
  const aside = `${file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  await fsp.rename(file, aside);
  const moved = await fsp.lstat(aside);
  if (moved.ino === judged.ino && moved.mtimeMs === judged.mtimeMs) {
    await fsp.unlink(aside);
    return true;
  }
  await fsp.link(aside, file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await fsp.unlink(aside);
  return false;
}
