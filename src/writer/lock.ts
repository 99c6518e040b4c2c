/**
 * A cross-process lock for read-modify-write on one output file: a lock folder
 * (util/lock-folder.ts), retried with jittered backoff; a lock whose holder process is gone, or
 * whose heartbeat is older than `staleMs`, is broken. On local task directories the lock sits
 * beside the file (hidden `.name.lock/`), so every process writing that directory agrees on it. For object storage it is
 * kept in the OS temp dir, keyed by the storage URL and key: this serialises processes on one
 * machine; S3 (and s3rver) offer no conditional write to lock across machines with.
 */
import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LockError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { holdLockFolder } from '../util/lock-folder.ts';
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
 * A lock file an older sluice left at `lock` (`<pid> <token>`), removed when its holder is gone
 * or it is older than `staleMs`.
 */
async function breakLegacyFile(lock: string, staleMs: number): Promise<void> {
  const st = await stat(lock).catch(() => undefined);
  if (!st?.isFile()) return;
  const { pid } = await readLockFile(lock);
  const old = Date.now() - st.mtimeMs > staleMs;
  if (old || (pid !== undefined && !processAlive(pid))) await rm(lock, { force: true });
}

export async function withLock<T>(lock: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 120_000;
  // A holder silent for staleMs is dead even if its pid still runs (a stopped process): the
  // heartbeat ticks four times within it.
  const held = await holdLockFolder(lock, {
    ttlMs: staleMs,
    heartbeatMs: Math.max(1_000, staleMs / 4),
    waitMs: timeoutMs,
    maxDelayMs: 100,
    timedOut: () =>
      new LockError(`could not lock ${lock} within ${timeoutMs} ms: another process holds it`, {
        context: { lock },
      }),
    silentIsDead: true,
    breakLegacy: () => breakLegacyFile(lock, staleMs),
  });
  try {
    return await fn();
  } finally {
    // Removes only our own lock: if it was broken as stale meanwhile, it may be someone else's now.
    await held.release();
  }
}
