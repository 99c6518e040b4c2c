/**
 * Where the fs driver's metadata sidecars live and how one is read and published. A local
 * storage root keeps them under one reserved folder, `<root>/_sluice/meta/<key>.json`, never
 * among the data (a DuckDB glob or an `rclone copy` of a data folder sees only data). Earlier
 * versions kept `<dir>/.sluice-meta/<name>.json` beside each file: the legacy layout, read until
 * a root is migrated (meta-migrate.ts).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory, syncDirectory } from '../../../util/fsync-dir.ts';
import { parseJson } from '../../../util/json-parse.ts';
import { LEGACY_META_DIR, META_SUBDIR, SLUICE_DIR, TEMP_SUFFIX } from '../../keys.ts';

/**
 * A file's inode number can be reused once the file is replaced, so a sidecar names the inode,
 * size and mtime of the exact file it describes; any mismatch means it is stale. Metadata only
 * changes with a new file (put, copy), so a sidecar that matches is always the right one.
 */
export interface Sidecar {
  ino: number;
  size: number;
  mtimeMs: number;
  contentType?: string;
  metadata: Record<string, string>;
}

/** Written into a root's metadata folder once no legacy sidecar is left under the root. */
export const MIGRATED_MARKER = '.migrated';

export function metaHome(root: string): string {
  return path.join(root, SLUICE_DIR, META_SUBDIR);
}

export function sidecarPath(root: string, key: string): string {
  return path.join(metaHome(root), ...`${key}.json`.split('/'));
}

export function legacySidecarPath(file: string): string {
  return path.join(path.dirname(file), LEGACY_META_DIR, `${path.basename(file)}.json`);
}

export function isBound(sidecar: Sidecar, st: { ino: number; size: number; mtimeMs: number }): boolean {
  return sidecar.ino === st.ino && sidecar.size === st.size && sidecar.mtimeMs === st.mtimeMs;
}

/** A sidecar's JSON, or undefined when it is not one (a stray file, a torn write by hand). */
export function parseSidecar(text: string): Sidecar | undefined {
  try {
    const s = parseJson(text) as Sidecar;
    const ok =
      typeof s === 'object' &&
      s !== null &&
      typeof s.ino === 'number' &&
      typeof s.size === 'number' &&
      typeof s.mtimeMs === 'number' &&
      typeof s.metadata === 'object' &&
      s.metadata !== null;
    return ok ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The sidecar at `file`, or undefined when there is none (or it cannot be read). */
export async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    return parseSidecar(await fsp.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A hidden temp name beside `file`, which listings, the migration and gc recognise as sluice's. */
export function tempPathBeside(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
  );
}

/** Removes a file that may be gone already (one unlink); true when it was there. */
export async function unlinkQuietly(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return false;
  }
}

/**
 * Publishes `text` at `target` atomically: a temp file beside it (flushed when durable), a
 * rename, a directory fsync. With `createOnly` a link instead of the rename, which leaves a file
 * already at `target` as it is and returns false. The folder is made only when the first write
 * finds it missing (a removal of an emptied folder may race with it). The temp file is removed if
 * anything fails, so a full disk leaves nothing behind.
 */
export async function publishText(
  target: string,
  text: string,
  durable: boolean,
  createOnly = false,
): Promise<boolean> {
  const dir = path.dirname(target);
  const tmp = tempPathBeside(target);
  let created = true;
  try {
    try {
      await fsp.writeFile(tmp, text, { flush: durable, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await makeDirectory(dir, durable);
      await fsp.writeFile(tmp, text, { flush: durable, flag: 'wx' });
    }
    if (!createOnly) await fsp.rename(tmp, target);
    else {
      created = await fsp.link(tmp, target).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return false;
          throw error;
        },
      );
      await unlinkQuietly(tmp);
    }
  } catch (error) {
    await unlinkQuietly(tmp).catch(() => undefined);
    throw error;
  }
  if (durable && created) await syncDirectory(dir);
  return created;
}
