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
import { hostname } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { connectRedis, maskRedisUrl } from '../backends/redis.ts';
import { LockError } from '../errors.ts';
import { holdLockFolder } from '../util/lock-folder.ts';
import { processAlive } from '../util/lockfile.ts';

export interface LeaseGuard {
  /** Throws LockError (E071) when the lease was lost (expired while this holder stalled). */
  assertHeld(): Promise<void>;
}

/** `guard` that also runs `check` (the writer slot's) before a publish. */
export function alsoChecking(guard: LeaseGuard, check: () => Promise<void>): LeaseGuard {
  return {
    async assertHeld() {
      await guard.assertHeld();
      await check();
    },
  };
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

/**
 * The lock-folder lease of `walRoot` (see the module comment and util/lock-folder.ts). A folder,
 * not a file: `mkdir` is atomic and takes no data block on tmpfs, so a full disk refuses the
 * compaction's own writes (E012 naming the segment), not its lock.
 */
export function fileLease(walRoot: string, store: string): CompactionLease {
  const lock = path.join(walRoot, 'COMPACT.lock');
  return {
    async hold(fn) {
      const held = await holdLockFolder(lock, {
        ttlMs: TTL_MS,
        heartbeatMs: RENEW_MS,
        waitMs: WAIT_MS,
        maxDelayMs: 250,
        timedOut: () =>
          new LockError(
            `Time-series store ${store}: another writer has compacted for over ${WAIT_MS / 60_000} minutes`,
            { context: { lock } },
          ),
      });
      try {
        return await fn({
          async assertHeld() {
            if (!(await held.stillHeld()))
              throw new LockError(`Time-series store ${store}: the compaction lock ${lock} was taken over`, {
                context: { lock },
              });
          },
        });
      } finally {
        await held.release();
      }
    },
    async close() {},
  };
}

const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** The Redis lease of the store whose identity digest is `digest` (see the module comment). */
export function redisLease(
  url: string,
  digest: string,
  store: string,
  options: { connectTimeoutMs?: number } = {},
): CompactionLease {
  const key = `sluice:ts-lease:${digest}`;
  let client: Promise<Redis> | undefined;
  const redis = () => {
    // A failed first connection (Redis down past the connect timeout) is not kept: the next
    // compaction connects again instead of failing for the rest of the process's life.
    client ??= connectRedis(url, { purpose: `the compaction lease of ${store}`, ...options }).catch(
      (error: unknown) => {
        client = undefined;
        throw error;
      },
    );
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
