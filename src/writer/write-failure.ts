/** How a failed writer call is reported: E040 naming the method and path, or E012 for the disk. */
import { DataWriteError, SluiceError, StorageError } from '../errors.ts';
import { userFacingError } from '../os-errors.ts';

/** Bad input (E021 names the user's file and line) is reported as it is, not as a write failure. */
export function writeFailure(method: string, where: string, error: unknown): Error {
  if (error instanceof SluiceError && (error.code === 'E040' || error.code === 'E021')) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const wrapped = new DataWriteError(`${method} ${where} failed: ${reason}`, {
    cause: error,
    context: { path: where, method, ...(error instanceof SluiceError ? { causeCode: error.code } : {}) },
  });
  // A full or read-only disk, permissions: E012 naming the file, which is what the user must fix.
  const os = userFacingError(wrapped);
  if (os.code === 'E012' && os !== wrapped)
    return new StorageError(os.message, { cause: error, context: { ...os.context, key: where, method } });
  return wrapped;
}
