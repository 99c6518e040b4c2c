/**
 * Missing is not empty. A local folder a command reads from must exist: listing a mistyped path
 * as an empty tree hides the typo (and a sync or a poll from it would act on "nothing"). The
 * library's `list()` keeps S3's meaning of a prefix on every driver (a prefix with no objects
 * lists nothing), so commands check their root with this before they read.
 */
import * as fsp from 'node:fs/promises';
import { NotFoundError } from '../errors.ts';
import { fromOsError } from '../os-errors.ts';
import type { Storage } from './types.ts';

/**
 * Throws NotFoundError (E011) naming the folder when a local storage root does not exist or is a
 * file. Other drivers pass: an S3 or memory prefix has no existence of its own beyond the objects
 * under it, so an empty listing is the right answer there (a missing bucket fails on its own).
 */
export async function assertLocalRootExists(storage: Storage, what = 'folder'): Promise<void> {
  if (storage.kind !== 'fs') return;
  // The fs driver's url is `file://` + its absolute root, not percent-encoded.
  const dir = storage.url.slice('file://'.length);
  let isFolder: boolean;
  try {
    isFolder = (await fsp.stat(dir)).isDirectory();
  } catch (error) {
    const mapped = fromOsError(error, { path: dir, access: 'read' });
    if (mapped?.code === 'E011')
      throw new NotFoundError(`${what} ${dir} does not exist`, { cause: error, context: mapped.context });
    throw mapped ?? error;
  }
  if (!isFolder) throw new NotFoundError(`${dir} is a file, not a ${what}`, { context: { path: dir } });
}
