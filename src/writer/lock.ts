/**
 * A cross-process lock for read-modify-write on one output file: a lock folder
 * (util/lock-folder.ts), retried with jittered backoff; a lock whose holder process is gone, or
 * whose heartbeat is older than `staleMs`, is broken. On local task directories the lock sits beside the file (hidden
 * `.name.lock`), so every process writing that directory agrees on it. For object storage it is
 * kept in the OS temp dir, keyed by the storage URL and key: this serialises processes on one
 * machine; S3 (and s3rver) offer no conditional write to lock across machines with.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LockError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import {
  deadLockOwner,
  lockHeartbeat,
  lockOwner,
  newLockOwner,
  releaseLockFolder,
  removeDeadStaging,
  removeLockOwner,
  takeLockFolder,
} from '../util/lock-folder.ts';
import { processAlive, readLockFile } from '../util/lockfile.ts';

export interface LockOptions {
  /** Give up after this long with LockError (E071). @default 30000 */
  timeoutMs?: number;
  /** Break a lock whose heartbeat is older than this even if its holder seems alive. @default 120000 */
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

/**
 * Breaks the lock at `lock` if its holder is gone or its heartbeat is older than `staleMs`: a
 * lock folder's owner by name (util/lock-folder.ts: a lock taken since has another name, so it is
 * never the one removed), or a lock file an older sluice left (`<pid> <token>`).
 */
async function breakIfStale(lock: string, staleMs: number, by: string): Promise<void> {
  const st = await stat(lock).catch(() => undefined);
  if (st?.isFile()) {
    const { pid } = await readLockFile(lock);
    const old = Date.now() - st.mtimeMs > staleMs;
    if (old || (pid !== undefined && !processAlive(pid))) await rm(lock, { force: true });
    return;
  }
  const dead = await deadLockOwner(lock, staleMs);
  if (dead !== undefined) return removeLockOwner(lock, dead, by);
  // Alive, as far as this host can tell, but silent for longer than staleMs (a stopped process).
  const owner = await lockOwner(lock);
  const beat = owner && (await stat(path.join(lock, owner)).catch(() => undefined));
  if (owner && beat && Date.now() - beat.mtimeMs > staleMs) await removeLockOwner(lock, owner, by);
}

export async function withLock<T>(lock: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 120_000;
  const owner = newLockOwner();
  const deadline = Date.now() + timeoutMs;
  await mkdir(path.dirname(lock), { recursive: true });
  await removeDeadStaging(lock);
  let delay = 5;
  for (;;) {
    if (await takeLockFolder(lock, owner)) break;
    await breakIfStale(lock, staleMs, owner);
    if (Date.now() > deadline) {
      throw new LockError(`could not lock ${lock} within ${timeoutMs} ms: another process holds it`, {
        context: { lock },
      });
    }
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 100);
  }
  const stopHeartbeat = lockHeartbeat(lock, owner, Math.max(1_000, staleMs / 4));
  try {
    return await fn();
  } finally {
    // Remove only our own lock: if it was broken as stale meanwhile, it may be someone else's now.
    stopHeartbeat();
    await releaseLockFolder(lock, owner);
  }
}
