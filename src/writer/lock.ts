/**
 * A cross-process lock for read-modify-write on one output file: an exclusive-create lock file
 * (`O_EXCL`), retried with jittered backoff; a lock whose holder process is gone, or older than
 * `staleMs`, is broken. On local task directories the lock sits beside the file (hidden
 * `.name.lock`), so every process writing that directory agrees on it. For object storage it is
 * kept in the OS temp dir, keyed by the storage URL and key: this serialises processes on one
 * machine; S3 (and s3rver) offer no conditional write to lock across machines with.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LockError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { createLockFile, processAlive, readLockFile } from '../util/lockfile.ts';

export interface LockOptions {
  /** Give up after this long with LockError (E071). @default 30000 */
  timeoutMs?: number;
  /** Break a lock older than this even if its holder seems alive. @default 120000 */
  staleMs?: number;
}

export function lockPathFor(storage: Storage, key: string): string {
  if (storage.capabilities.localFiles && storage.localPath) {
    const file = storage.localPath(key);
    return path.join(path.dirname(file), `.${path.basename(file)}.lock`);
  }
  const digest = createHash('sha256').update(`${storage.url}\0${key}`).digest('hex').slice(0, 32);
  return path.join(tmpdir(), 'sluice-locks', `${digest}.lock`);
}

async function breakIfStale(lock: string, staleMs: number): Promise<void> {
  try {
    const [info, { pid }] = await Promise.all([stat(lock), readLockFile(lock)]);
    const old = Date.now() - info.mtimeMs > staleMs;
    if (old || (pid !== undefined && !processAlive(pid))) await rm(lock, { force: true });
  } catch {
    // Gone already, or being written: try again.
  }
}

export async function withLock<T>(lock: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 120_000;
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  await mkdir(path.dirname(lock), { recursive: true });
  let delay = 5;
  for (;;) {
    if (await createLockFile(lock, token)) break;
    await breakIfStale(lock, staleMs);
    if (Date.now() > deadline) {
      throw new LockError(`could not lock ${lock} within ${timeoutMs} ms: another process holds it`, {
        context: { lock },
      });
    }
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    // Remove only our own lock: if it was broken as stale meanwhile, it may be someone else's now.
    const { text: current } = await readLockFile(lock);
    if (current === token) await rm(lock, { force: true });
  }
}
