/** OS errors of the fs driver as sluice errors, in the user's words. */
import path from 'node:path';
import { NotFoundError, SluiceError, StorageError } from '../../../errors.ts';
import { fromOsError } from '../../../os-errors.ts';

/**
 * OS errors in the user's words, naming the object's path (never its temp file). A folder in the
 * way of a read is no object (E011); ENOENT on a write means the root could not be created.
 */
export function mapFsError(error: unknown, root: string, key: string, action: string): Error {
  if (error instanceof SluiceError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const where = path.join(root, key);
  const context = { key, path: where, errno: code };
  const writing = action === 'write' || action === 'move' || action === 'delete';
  if (!writing && (code === 'ENOENT' || code === 'ENOTDIR')) {
    const mapped = code === 'ENOTDIR' ? fromOsError(error, { path: where, access: 'read' }) : undefined;
    return new NotFoundError(mapped?.message ?? `No file at ${where}`, { cause: error, context });
  }
  const mapped = fromOsError(error, { path: where, access: writing ? 'write' : 'read', context: { key } });
  if (mapped) return mapped;
  const message = (error as Error).message ?? String(error);
  return new StorageError(`Cannot ${action} ${where}: ${message}`, { cause: error, context });
}
