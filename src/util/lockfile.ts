/**
 * Pid lock files and the test of whether a process on this host still runs. Ownership that can be
 * broken (a dead holder's lock taken over) uses lock folders (lock-folder.ts), which no two takers
 * can both get; a lock file here is created exclusively with its text already in it and serves
 * create-once claims (a store's writer id) and the lock files older sluice versions left, whose
 * text starts with the owner's pid.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
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
 * exist: true when created, false when another lock is there. The text is written to a temp file
 * beside it first and the temp file linked to `file` (link fails if `file` exists), so the lock
 * never exists without its text: a lock created empty and written after would be read, in
 * between, as held by nobody, and broken by another taker while its creator goes on as holder.
 * A lock that cannot get its text (a full disk) is never created; the disk error is thrown as its
 * coded SluiceError.
 */
export async function createLockFile(file: string, text: string): Promise<boolean> {
  // A temp file's suffix (storage/keys.ts TEMP_SUFFIX): never listed, and `storage gc` removes
  // one a crash left between the write and the link.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.sluice-tmp`;
  try {
    await writeFile(tmp, text, { flag: 'wx' });
  } catch (error) {
    await rm(tmp, { force: true });
    throw fromOsError(error, { path: file, access: 'write' }) ?? error;
  }
  try {
    await link(tmp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A file system without hard links (some network shares, FAT): an exclusive create, its text
    // written at once — the short moment it is empty is the one the link avoids elsewhere.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS')
      return createExclusively(file, text);
    throw error; // the caller says what a lock it cannot create means
  } finally {
    await rm(tmp, { force: true });
  }
}

/** `file` created only if absent, its text written at once: true when created. */
async function createExclusively(file: string, text: string): Promise<boolean> {
  try {
    await writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The text of a lock file and the pid it starts with ('' and undefined when it is gone or empty). */
export async function readLockFile(file: string): Promise<{ text: string; pid: number | undefined }> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim().split(' ')[0]);
  return { text, pid: Number.isInteger(pid) && pid > 0 ? pid : undefined };
}
