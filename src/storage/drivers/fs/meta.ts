/**
 * The fs driver's object metadata for one root: sidecars under `<root>/_sluice/meta/`, written
 * only for objects that have metadata (a root without any never gets a `_sluice/` folder).
 *
 * Roots written by earlier versions keep sidecars in `.sluice-meta/` folders beside the data.
 * Until a root is known to be migrated (`_sluice/meta/.migrated`), reads look there first, and
 * the migration runs, at most once per store, when sluice meets a legacy sidecar (a listing, a
 * stat, a move) or is about to create the metadata folder (the root's first metadata write).
 * Opening a storage costs nothing: no tree is walked unless there is something to move.
 */
import type { Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { getLogger } from '../../../logging/logger.ts';
import { LEGACY_META_DIR } from '../../keys.ts';
import {
  isBound,
  legacySidecarPath,
  MIGRATED_MARKER,
  metaHome,
  publishText,
  readSidecar,
  type Sidecar,
  sidecarPath,
  unlinkQuietly,
} from './meta-files.ts';
import { migrateLegacySidecars } from './meta-migrate.ts';

export type { Sidecar } from './meta-files.ts';

export interface SidecarStore {
  /** The sidecar bound to `file` (as `st` describes it), if any. */
  read(key: string, file: string, st: Stats): Promise<Sidecar | undefined>;
  /** Publishes the sidecar of `key`, atomically (and durably when the store is). */
  write(key: string, sidecar: Sidecar): Promise<void>;
  /** Removes the sidecar of `key`, and metadata folders that leaves empty. */
  remove(key: string): Promise<void>;
  /**
   * Moves the root's legacy sidecars into `_sluice/meta/`, once per store. Never rejects: a root
   * that cannot be changed (read-only) is logged once and keeps being read where it is.
   */
  migrateLegacy(): Promise<boolean>;
}

async function isDirectory(dir: string): Promise<boolean> {
  return fsp.stat(dir).then(
    (st) => st.isDirectory(),
    () => false,
  );
}

export function createSidecarStore(root: string, durable: boolean): SidecarStore {
  const home = metaHome(root);
  const marker = path.join(home, MIGRATED_MARKER);
  /** Is the marker there (read once per store)? */
  let marked: Promise<boolean> | undefined;
  /** Did a migration succeed in this store? */
  let migrated = false;
  let migration: Promise<boolean> | undefined;
  let homeReady: Promise<void> | undefined;
  const isMarked = () =>
    (marked ??= fsp.access(marker).then(
      () => true,
      () => false,
    ));
  /** May legacy sidecars remain under the root? */
  const legacyPossible = async () => !migrated && !(await isMarked());
  async function mark(): Promise<void> {
    await publishText(marker, '', durable);
    marked = Promise.resolve(true);
  }

  async function migrate(): Promise<boolean> {
    try {
      const result = await migrateLegacySidecars(root, durable);
      if (result.folders > 0) {
        const dropped = result.dropped > 0 ? `; dropped ${result.dropped} stale or empty ones` : '';
        getLogger().info(
          { root, ...result },
          `moved ${result.moved} metadata sidecars from ${result.folders} ${LEGACY_META_DIR} folders to ${home}${dropped}`,
        );
      }
      // Without metadata there is no `_sluice/` to mark: the root stays clean.
      if (await isDirectory(home)) await mark();
      migrated = true;
      return true;
    } catch (error) {
      getLogger().warn(
        { root, err: error },
        `cannot move metadata out of the ${LEGACY_META_DIR} folders under ${root} (${(error as Error).message}); reading it where it is`,
      );
      return false;
    }
  }
  const migrateLegacy = () => (migration ??= migrate());

  /**
   * Before a store's first sidecar: the marker, or nothing may stay behind in the old layout and
   * then the marker says so. The metadata folder is created with the marker, so it lacks one only
   * after a crash at the wrong moment, which this repairs.
   */
  async function ensureHome(): Promise<void> {
    if (await isMarked()) return;
    if (await migrateLegacy()) await mark();
  }

  return {
    async read(key, file, st) {
      // Old place first: a migration gives the new name before it removes the old, so this order
      // never misses a sidecar that a concurrent migration is moving.
      if (await legacyPossible()) {
        const old = await readSidecar(legacySidecarPath(file));
        if (old && isBound(old, st)) {
          await migrateLegacy();
          return old;
        }
      }
      const current = await readSidecar(sidecarPath(root, key));
      return current && isBound(current, st) ? current : undefined;
    },

    async write(key, sidecar) {
      homeReady ??= ensureHome().catch((error: unknown) => {
        homeReady = undefined;
        throw error;
      });
      await homeReady;
      await publishText(sidecarPath(root, key), JSON.stringify(sidecar), durable);
    },

    async remove(key) {
      const file = sidecarPath(root, key);
      try {
        if (!(await unlinkQuietly(file))) return;
      } catch (error) {
        // A file where a folder of the path should be: no sidecar there either.
        if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw error;
      }
      for (let dir = path.dirname(file); dir.startsWith(`${home}${path.sep}`); dir = path.dirname(dir)) {
        try {
          await fsp.rmdir(dir);
        } catch {
          break;
        }
      }
    },

    migrateLegacy,
  };
}
