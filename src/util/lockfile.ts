/**
 * Pid lock files, the one way sluice says "this process owns that": the writer's lock around a
 * read-modify-write, the time-series store's single-writer lock, and the poller's test of
 * whether a lease owner on this host still runs. A lock is a file created exclusively (`O_EXCL`)
 * whose text starts with the owner's pid; a lock whose process is gone (kill -9) may be taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { fromOsError } from '../os-errors.ts';

/** True while process `pid` exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates `file` holding `text` (which starts with this process's pid), only if it does not
 * exist: true when created, false when another lock is there. A lock that cannot get its text
 * (a full disk) is removed again — an empty lock would look held by nobody — and the disk error
 * thrown as its coded SluiceError.
 */
export async function createLockFile(file: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error; // the caller says what a lock it cannot create means
  }
  try {
    await handle.writeFile(text);
  } catch (error) {
    await handle.close();
    await rm(file, { force: true });
    throw fromOsError(error, { path: file, access: 'write' }) ?? error;
  }
  await handle.close();
  return true;
}

/** The text of a lock file and the pid it starts with ('' and undefined when it is gone or empty). */
export async function readLockFile(file: string): Promise<{ text: string; pid: number | undefined }> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim().split(' ')[0]);
  return { text, pid: Number.isInteger(pid) && pid > 0 ? pid : undefined };
}
