/**
 * Before store identities were canonical (store-url.ts), an S3 store's log folder was keyed on
 * its URL as typed: `s3://b/w` and `s3://b/w/` had two folders. A writer that acknowledged points
 * there and stopped before compacting them left them in the old folder; opened now, the store
 * looks for the canonical one. The old folder is moved into place on open, so those points are
 * replayed and compacted, never silently left behind.
 */
import * as fsp from 'node:fs/promises';
import { getLogger } from '../logging/logger.ts';
import { fromOsError } from '../os-errors.ts';

export async function adoptLegacyLog(
  legacyDir: string | undefined,
  walDir: string,
  store: string,
): Promise<void> {
  if (legacyDir === undefined) return;
  const old = await fsp.readdir(legacyDir).catch(() => undefined);
  if (old === undefined || old.length === 0) return;
  const current = await fsp.readdir(walDir).catch(() => undefined);
  if (current !== undefined && current.length > 0) {
    getLogger().warn(
      { store, legacyDir, walDir },
      'a log folder from before canonical store identities is left in place beside the current one: open it with walDir to compact its points',
    );
    return;
  }
  try {
    if (current !== undefined) await fsp.rmdir(walDir);
    await fsp.rename(legacyDir, walDir);
    getLogger().info({ store, from: legacyDir, to: walDir }, 'moved the log folder to its canonical place');
  } catch (error) {
    throw fromOsError(error, { path: walDir, access: 'write' }) ?? error;
  }
}
