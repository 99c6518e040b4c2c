/**
 * Lock folders: "one process at a time owns this" on a local or shared disk, with no moment where
 * two own it. A lock is a folder holding exactly one owner folder, named `<pid>_<host>_<random>`:
 *
 * - taking it: the owner folder is made inside a staging folder beside the lock, and the staging
 *   folder renamed onto the lock's name. A rename onto a folder that is not empty fails, so of
 *   several takers one wins, and a lock is never seen without its owner (a lock *file* created
 *   with O_EXCL is empty until its text is written: a taker that reads it then sees no owner);
 * - breaking a dead owner's lock: the owner folder, by its name, is moved out (one rename: of
 *   several breakers one wins, and a lock taken since has another owner's name, which no breaker
 *   touches), then the emptied lock folder removed (which fails if a taker renamed its own lock
 *   onto it meanwhile: that lock stands);
 * - the owner folder's mtime is the heartbeat that tells owners on other hosts alive from dead.
 *
 * Used by the time-series store's compaction lease and writer slots, and the writer's file locks.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { fromOsError } from '../os-errors.ts';
import { processAlive } from './lockfile.ts';

/** This host as it appears in owner names (`_` separates their parts). */
export const lockHost = (): string => hostname().replace(/_/g, '-');

/** A new owner name for this process: `<pid>_<host>_<random>`. */
export const newLockOwner = (): string => `${process.pid}_${lockHost()}_${randomBytes(6).toString('hex')}`;

/** The pid and host an owner name gives. */
export function parseLockOwner(name: string): { pid: number; host: string } {
  const [pid = '', host = ''] = name.split('_');
  return { pid: Number(pid), host };
}

/** The owner of lock folder `lock` (the one folder inside), undefined when it is free or empty. */
export async function lockOwner(lock: string): Promise<string | undefined> {
  return (await fsp.readdir(lock).catch(() => [] as string[]))[0];
}

/**
 * Takes lock folder `lock` as `owner` in one step (see the module comment): true when taken, false
 * when another owner holds it. A disk error (a full disk) is thrown as its coded SluiceError.
 */
export async function takeLockFolder(lock: string, owner: string): Promise<boolean> {
  const staging = `${lock}.${owner}`;
  try {
    await fsp.mkdir(path.join(staging, owner), { recursive: true });
    await fsp.rename(staging, lock);
    return true;
  } catch (error) {
    await fsp.rm(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a lock *file* an older sluice left stands there (its user decides about it).
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR') return false;
    throw fromOsError(error, { path: staging, access: 'write' }) ?? error;
  }
}

/**
 * The owner of `lock` if it is dead (`''` for a lock folder left empty), undefined if it is alive
 * or the lock is gone (a lock that vanished was released: it is taken again, not broken). An owner
 * on this host is dead when its process is gone; on another host (a shared folder), or a lock
 * being taken right now, when its heartbeat is older than `ttlMs` — as is, with `silentIsDead`,
 * an owner on this host whose process runs but has not beaten for `ttlMs` (stopped, or hung).
 */
export async function deadLockOwner(
  lock: string,
  ttlMs: number,
  silentIsDead = false,
): Promise<string | undefined> {
  const name = await lockOwner(lock);
  const st = await fsp.stat(name ? path.join(lock, name) : lock).catch(() => undefined);
  if (!st) return undefined;
  const silent = Date.now() - st.mtimeMs >= ttlMs;
  if (name) {
    const { pid, host } = parseLockOwner(name);
    if (host === lockHost()) return !processAlive(pid) || (silentIsDead && silent) ? name : undefined;
  }
  return silent ? (name ?? '') : undefined;
}

/**
 * Removes owner `name` from lock folder `lock` (a dead owner's, or `by`'s own at release), as the
 * module comment says: a breaker that loses the rename to another returns, and looks again.
 */
export async function removeLockOwner(lock: string, name: string, by: string): Promise<void> {
  const trash = `${lock}.dead.${by}`;
  if (name !== '') {
    try {
      await fsp.rename(path.join(lock, name), trash);
    } catch {
      return; // removed already by another breaker
    }
  }
  await fsp.rmdir(lock).catch(() => {});
  await fsp.rm(trash, { recursive: true, force: true });
}

/** Refreshes owner `owner`'s heartbeat in `lock` every `everyMs`; returns what stops it. */
export function lockHeartbeat(lock: string, owner: string, everyMs: number): () => void {
  const mine = path.join(lock, owner);
  const timer = setInterval(() => {
    fsp.utimes(mine, new Date(), new Date()).catch(() => {});
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Releases `lock` if `owner` still holds it. */
export async function releaseLockFolder(lock: string, owner: string): Promise<void> {
  if ((await lockOwner(lock)) === owner) await removeLockOwner(lock, owner, owner);
}

/**
 * Removes the staging and trash folders beside `lock` that takers and breakers on this host left
 * when they died between two steps (a live one's are its own to remove).
 */
export async function removeDeadStaging(lock: string): Promise<void> {
  const dir = path.dirname(lock);
  const prefix = `${path.basename(lock)}.`;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const { pid, host } = parseLockOwner(name.slice(prefix.length).replace(/^dead\./, ''));
    if (host === lockHost() && Number.isInteger(pid) && pid > 0 && !processAlive(pid))
      await fsp.rm(path.join(dir, name), { recursive: true, force: true });
  }
}

export interface HoldLockFolder {
  /** An owner whose heartbeat is older than this is dead (and, on this host, one whose pid is gone). */
  ttlMs: number;
  /** How often the holder refreshes its heartbeat. */
  heartbeatMs: number;
  /** How long to wait for the lock before `timedOut()` is thrown. */
  waitMs: number;
  timedOut: () => Error;
  /** Longest pause between two tries (they back off from 5 ms, jittered). */
  maxDelayMs: number;
  /** An owner on this host silent for `ttlMs` is dead too, even while its process runs. */
  silentIsDead?: boolean;
  /** Breaks a lock in a form only the caller knows (a lock file an older sluice left), if stale. */
  breakLegacy?: () => Promise<void>;
}

/** A held lock folder: whether it is still ours, and its release. */
export interface HeldLockFolder {
  owner: string;
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Waits for lock folder `lock` (see the module comment): takes it, else breaks a dead owner's, else
 * backs off and tries again, until `waitMs` has passed. The holder's heartbeat runs until release.
 */
export async function holdLockFolder(lock: string, o: HoldLockFolder): Promise<HeldLockFolder> {
  await fsp.mkdir(path.dirname(lock), { recursive: true });
  await removeDeadStaging(lock);
  const owner = newLockOwner();
  const deadline = Date.now() + o.waitMs;
  for (let delay = 5; !(await takeLockFolder(lock, owner)); delay = Math.min(delay * 2, o.maxDelayMs)) {
    await o.breakLegacy?.();
    const dead = await deadLockOwner(lock, o.ttlMs, o.silentIsDead);
    if (dead !== undefined) await removeLockOwner(lock, dead, owner);
    else if (Date.now() > deadline) throw o.timedOut();
    else await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
  }
  const stopHeartbeat = lockHeartbeat(lock, owner, o.heartbeatMs);
  return {
    owner,
    stillHeld: async () => (await lockOwner(lock)) === owner,
    async release() {
      stopHeartbeat();
      await releaseLockFolder(lock, owner);
    },
  };
}
