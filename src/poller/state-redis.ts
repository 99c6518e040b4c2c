import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../backends/redis.ts';
import { PollerError } from '../errors.ts';
import { newOwnerId, type ObjectStatus, ownerIsDeadLocally, type PollerStateStore } from './state.ts';

// Replace the lease only if it still holds the value we read (compare-and-set).
const CAS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return nil`;
const DEL_IF = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
// Returns {status, lease holder after trying to take a free lease}.
const CLAIM = `local s = redis.call('hget', KEYS[1], ARGV[1])
if s == 'done' or s == 'failed' then return {s, false} end
redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3], 'NX')
return {s, redis.call('get', KEYS[2])}`;
const MARK_FINAL = `redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
if redis.call('get', KEYS[2]) == ARGV[3] then redis.call('del', KEYS[2]) end
return 1`;
const RENEW_IF = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;

export interface RedisStateOptions {
  url: string;
  /** Key prefix. @default 'sluice' */
  prefix?: string;
  /** Bound on reaching Redis: the first operation fails with E060 (URL masked) after it. @default 10000 */
  connectTimeoutMs?: number;
}

// Commands wait through this many reconnections (~26 s) and then fail as a transient error.
const RETRIES_PER_COMMAND = 10;

/**
 * Poller state in Redis (used with the bullmq queue so pollers on several machines agree).
 * Connects on first use; `close()` gives back the leases this store still holds, so other
 * pollers take those objects at once instead of after the lease time.
 */
export function createRedisStateStore(options: RedisStateOptions, scope: string): PollerStateStore {
  let connecting: Promise<Redis> | undefined;
  const closing = new AbortController(); // close() never waits out a connect in progress
  const connection = () => {
    connecting ??= connectRedis(options.url, {
      purpose: 'Redis for poller state',
      signal: closing.signal,
      maxRetriesPerRequest: RETRIES_PER_COMMAND,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    }).catch((error: unknown) => {
      connecting = undefined; // the next operation tries again
      throw error;
    });
    return connecting;
  };
  const held = new Set<string>();
  const base = `${options.prefix ?? 'sluice'}:poller:${createHash('sha256').update(scope).digest('hex').slice(0, 16)}`;
  const statusKey = `${base}:status`;
  const field = (key: string, etag: string) => `${etag}\n${key}`;
  const leaseKey = (key: string, etag: string) =>
    `${base}:lease:${createHash('sha256').update(field(key, etag)).digest('hex')}`;
  const owner = newOwnerId();
  let closed = false;
  const run = async <T>(what: string, key: string, fn: (redis: Redis) => Promise<T>): Promise<T> => {
    if (closed) throw new PollerError('Poller state store is closed');
    const redis = await connection(); // E060 naming the URL when Redis cannot be reached
    try {
      return await fn(redis);
    } catch (error) {
      throw new PollerError(`Poller state ${what} failed for ${key} (redis): ${(error as Error).message}`, {
        cause: error,
        context: { key, retryable: true },
      });
    }
  };
  return {
    claim(key, etag, leaseMs) {
      return run('claim', key, async (redis) => {
        const lk = leaseKey(key, etag);
        // One round trip in the common case: status check and lease in one script.
        const [status, holder] = (await redis.eval(
          CLAIM,
          2,
          statusKey,
          lk,
          field(key, etag),
          owner,
          leaseMs,
        )) as [ObjectStatus | false | null, string | false | null];
        if (status === 'done' || status === 'failed') return { claimed: false, status };
        let ok = holder === owner;
        if (!ok && holder && ownerIsDeadLocally(holder)) {
          ok = (await redis.eval(CAS, 1, lk, holder, owner, leaseMs)) === 'OK';
        }
        if (!ok) return { claimed: false };
        held.add(lk);
        return status ? { claimed: true, status } : { claimed: true };
      });
    },
    async renew(key, etag, leaseMs) {
      await run('renew', key, (redis) => redis.eval(RENEW_IF, 1, leaseKey(key, etag), owner, leaseMs));
    },
    async mark(key, etag, status) {
      await run('mark', key, async (redis) => {
        if (status === 'enqueued') await redis.hset(statusKey, field(key, etag), status);
        else {
          await redis.eval(MARK_FINAL, 2, statusKey, leaseKey(key, etag), field(key, etag), status, owner);
          held.delete(leaseKey(key, etag));
        }
      });
    },
    async release(key, etag) {
      await run('release', key, async (redis) => {
        await redis.eval(DEL_IF, 1, leaseKey(key, etag), owner);
        held.delete(leaseKey(key, etag));
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      const redis = await connecting?.catch(() => undefined);
      if (!redis) return;
      // Leases of objects still in flight (a stop mid-poll): one round trip, bounded.
      const leases = [...held];
      held.clear();
      if (leases.length > 0 && redis.status === 'ready') {
        const pipe = redis.pipeline();
        for (const lk of leases) pipe.eval(DEL_IF, 1, lk, owner);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          pipe.exec().catch(() => {}),
          new Promise((resolve) => {
            timer = setTimeout(resolve, 1000);
          }),
        ]);
        clearTimeout(timer);
      }
      redis.disconnect();
    },
  };
}
