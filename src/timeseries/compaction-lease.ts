/**
 * The compaction lease: one writer of a store at a time reads the manifest, merges its points into
 * the segments and publishes the next manifest, so two writers never both compact a window and
 * neither overwrites what the other published. Two kinds:
 *
 * - a lock file beside the logs (`<log root>/COMPACT.lock`): every writer of a local store, and
 *   every writer of an S3 store that shares one home folder, sees the same file;
 * - a Redis key (`lease: redis://…`), for writers on several hosts: `SET NX PX` with a token,
 *   renewed while held, released only by its holder; checked again just before publishing, so a
 *   holder that stalled past its expiry publishes nothing (its run is retried later).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { connectRedis, maskRedisUrl } from '../backends/redis.ts';
import { LockError } from '../errors.ts';
import { fromOsError } from '../os-errors.ts';
import { processAlive } from '../util/lockfile.ts';

export interface LeaseGuard {
  /** Throws LockError (E071) when the lease was lost (expired while this holder stalled). */
  assertHeld(): Promise<void>;
}

export interface CompactionLease {
  hold<T>(fn: (guard: LeaseGuard) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** How long a writer waits for the lease before giving up with E071. */
const WAIT_MS = 10 * 60_000;
/** A lease (file or key) not renewed for this long is dead. */
const TTL_MS = 60_000;
const RENEW_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** This host as it appears in lock-folder names (`_` separates their parts). */
const host = () => hostname().replace(/_/g, '-');

/**
 * The lock-folder lease of `walRoot` (see the module comment). A folder, not a file: `mkdir` is
 * atomic and takes no data block on tmpfs, so a full disk refuses the compaction's own writes
 * (E012 naming the segment), not its lock. The owner is the name of the one folder inside
 * (`<pid>_<host>_<token>`, in place from the moment the lock exists); its mtime is the heartbeat.
 */
export function fileLease(walRoot: string, store: string): CompactionLease {
  const lock = path.join(walRoot, 'COMPACT.lock');
  const owner = async (): Promise<string | undefined> => (await fsp.readdir(lock).catch(() => []))[0];
  /**
   * The lock's owner if it is dead (`''` for a lock folder left empty), undefined if alive or gone —
   * a lock that vanished since the take failed was released, and is taken again, not broken.
   */
  const deadOwner = async (): Promise<string | undefined> => {
    const name = await owner();
    const st = await fsp.stat(name ? path.join(lock, name) : lock).catch(() => undefined);
    if (!st) return undefined;
    const [pid, ownerHost] = (name ?? '').split('_');
    if (name && ownerHost === host()) return processAlive(Number(pid)) ? undefined : name;
    // Another host's, or being taken right now: alive while its heartbeat is fresh.
    return Date.now() - st.mtimeMs < TTL_MS ? undefined : (name ?? '');
  };
  return {
    async hold(fn) {
      await fsp.mkdir(walRoot, { recursive: true });
      const token = `${process.pid}_${host()}_${randomBytes(6).toString('hex')}`;
      const mine = path.join(lock, token);
      const deadline = Date.now() + WAIT_MS;
      await removeDeadStaging(walRoot);
      for (let delay = 5; !(await takeFolder(lock, token)); delay = Math.min(delay * 2, 250)) {
        const dead = await deadOwner();
        if (dead !== undefined) await removeOwner(lock, dead, token);
        else if (Date.now() > deadline)
          throw new LockError(
            `Time-series store ${store}: another writer has compacted for over ${WAIT_MS / 60_000} minutes`,
            { context: { lock } },
          );
        else await sleep(delay + Math.random() * delay);
      }
      const renew = setInterval(() => {
        fsp.utimes(mine, new Date(), new Date()).catch(() => {});
      }, RENEW_MS);
      renew.unref();
      try {
        return await fn({
          async assertHeld() {
            if ((await owner()) !== token)
              throw new LockError(`Time-series store ${store}: the compaction lock ${lock} was taken over`, {
                context: { lock },
              });
          },
        });
      } finally {
        clearInterval(renew);
        if ((await owner()) === token) await removeOwner(lock, token, token);
      }
    },
    async close() {},
  };
}

/**
 * Takes the lock folder `lock` with owner `token` inside, in one step: the owner folder is made
 * beside it, then renamed into place (a rename onto an existing folder fails), so a lock is never
 * seen without its owner — a writer killed while taking it leaves only its staging folder.
 */
async function takeFolder(lock: string, token: string): Promise<boolean> {
  const staging = `${lock}.${token}`;
  try {
    await fsp.mkdir(path.join(staging, token), { recursive: true });
    await fsp.rename(staging, lock);
    return true;
  } catch (error) {
    await fsp.rm(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw fromOsError(error, { path: staging, access: 'write' }) ?? error;
  }
}

/**
 * Removes owner `name` from the lock folder `lock` (a dead holder's, or our own at release): its
 * owner folder is moved out — one rename, which of several breakers only one wins, and which never
 * touches a lock someone else has taken since — then the emptied lock folder is removed. A taker
 * may have renamed its own lock onto the empty folder meanwhile (a rename may replace an empty
 * folder); the removal then fails as not empty, and that lock stands.
 */
async function removeOwner(lock: string, name: string, token: string): Promise<void> {
  const trash = `${lock}.dead.${token}`;
  if (name !== '') {
    try {
      await fsp.rename(path.join(lock, name), trash);
    } catch {
      return; // removed already by another breaker: look again
    }
  }
  await fsp.rmdir(lock).catch(() => {});
  await fsp.rm(trash, { recursive: true, force: true });
}

/** Staging folders of takers on this host that died between making and renaming them. */
async function removeDeadStaging(walRoot: string): Promise<void> {
  for (const name of await fsp.readdir(walRoot).catch(() => [] as string[])) {
    const m = /^COMPACT\.lock\.(?:dead\.)?(\d+)_([^_]*)_/.exec(name);
    if (m && m[2] === host() && !processAlive(Number(m[1])))
      await fsp.rm(path.join(walRoot, name), { recursive: true, force: true });
  }
}

const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** The Redis lease of the store whose identity digest is `digest` (see the module comment). */
export function redisLease(url: string, digest: string, store: string): CompactionLease {
  const key = `sluice:ts-lease:${digest}`;
  let client: Promise<Redis> | undefined;
  const redis = () => {
    client ??= connectRedis(url, { purpose: `the compaction lease of ${store}` });
    return client;
  };
  return {
    async hold(fn) {
      const r = await redis();
      const token = `${process.pid} ${hostname()} ${randomBytes(6).toString('hex')}`;
      const deadline = Date.now() + WAIT_MS;
      for (
        let delay = 10;
        (await r.set(key, token, 'PX', TTL_MS, 'NX')) !== 'OK';
        delay = Math.min(delay * 2, 500)
      ) {
        if (Date.now() > deadline)
          throw new LockError(
            `Time-series store ${store}: the compaction lease in ${maskRedisUrl(url)} was held for over ${WAIT_MS / 60_000} minutes`,
            { context: { key } },
          );
        // A holder on this host that is gone (kill -9) frees the lease now, not when it expires.
        const holder = await r.get(key);
        const [pid, host] = (holder ?? '').split(' ');
        if (holder && host === hostname() && !processAlive(Number(pid))) {
          await r.eval(RELEASE_SCRIPT, 1, key, holder);
          continue;
        }
        await sleep(delay + Math.random() * delay);
      }
      const renew = setInterval(() => {
        r.eval(RENEW_SCRIPT, 1, key, token, String(TTL_MS)).catch(() => {});
      }, RENEW_MS);
      renew.unref();
      try {
        return await fn({
          async assertHeld() {
            if ((await r.get(key)) !== token)
              throw new LockError(
                `Time-series store ${store}: the compaction lease expired while compacting`,
                {
                  context: { key },
                },
              );
          },
        });
      } finally {
        clearInterval(renew);
        await r.eval(RELEASE_SCRIPT, 1, key, token).catch(() => {});
      }
    },
    async close() {
      const c = await client?.catch(() => undefined);
      c?.disconnect();
    },
  };
}
