/** Checks on a local input file before any engine opens it, so the error names the user's path. */
import { stat } from 'node:fs/promises';
import { NotFoundError, StorageError } from '../errors.ts';

/** Resolves when `file` is a readable regular file; E011 when it does not exist, E012 otherwise. */
export async function assertReadableFile(file: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new NotFoundError(`input file ${file} does not exist`, { cause: error, context: { file } });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new StorageError(`permission denied: ${file}`, { cause: error, context: { file } });
    }
    throw error;
  }
  if (info.isDirectory()) {
    throw new StorageError(`${file} is a directory, not a file`, { context: { file } });
  }
}
