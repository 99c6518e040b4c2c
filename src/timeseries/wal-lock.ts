/**
 * One writer per store: a `LOCK` file in its log folder holding the writer's pid. A lock whose
 * process is gone (kill -9) is taken over.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { LockError } from '../errors.ts';
import { createLockFile, processAlive, readLockFile } from '../util/lockfile.ts';

/** One writer per log directory: a LOCK file holding the owner's pid; a dead owner's lock is taken over. */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createLockFile(file, String(process.pid))) {
      return async () => {
        await fsp.rm(file, { force: true });
      };
    }
    const { pid } = await readLockFile(file);
    if (pid !== undefined && pid !== process.pid && processAlive(pid)) {
      throw new LockError(
        `Time-series store log ${dir} is open for writing by process ${pid}; open it with readOnly: true or stop that process`,
        { context: { dir, pid } },
      );
    }
    if (pid === process.pid) {
      throw new LockError(
        `Time-series store log ${dir} is already open for writing in this process; reuse that store`,
        {
          context: { dir },
        },
      );
    }
    await fsp.rm(file, { force: true });
  }
  throw new LockError(`Cannot take the lock ${file}`, { context: { dir } });
}

/** The pid of the live process holding the writer lock of log folder `dir`, if any. */
export async function liveWriter(dir: string): Promise<number | undefined> {
  const { pid } = await readLockFile(path.join(dir, 'LOCK'));
  return pid !== undefined && processAlive(pid) ? pid : undefined;
}
