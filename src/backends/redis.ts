/**
 * The one place that connects to Redis (BullMQ queues, poller state). ioredis retries forever by
 * default and prints `[ioredis] Unhandled error event` stacks when nobody listens; here the first
 * connection has a bounded time to become ready, or fails with `E060` naming the URL (password
 * masked). Once connected, a dropped connection is retried with capped backoff and logged once
 * per interval, never as a stack trace.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { QueueError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { maskSecretsInString } from '../secrets/mask.ts';

// ioredis loads on the first connection, not with this module (see queue/drivers/bullmq.ts).
const require = createRequire(import.meta.url);
const ioredis = () => require('ioredis') as typeof import('ioredis');

/** Time the first connection gets to become ready. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 5_000;
const WARN_EVERY_MS = 30_000;

export interface RedisConnectOptions {
  /** Bound on the first connection (TCP, AUTH, SELECT, ready). @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Reconnections a command waits through before it fails (ioredis `maxRetriesPerRequest`);
   * `null` waits for ever, which BullMQ workers require for their blocking connection.
   * @default null
   */
  maxRetriesPerRequest?: number | null;
  /** Stops waiting for the first connection (E060 at once). */
  signal?: AbortSignal;
  /** What the connection is for, in messages: `queue sluice`, `poller state`. @default 'Redis' */
  purpose?: string;
}

/** The URL as it may appear in a message: any password (or token user name) masked. */
export function maskRedisUrl(url: string): string {
  return maskSecretsInString(url);
}

/** Reconnect delay after the `attempt`-th failure: 100 ms doubling, capped at 5 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
}

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new QueueError(`connectTimeoutMs must be a positive number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

function describeSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * A ready ioredis client, or `E060` within `connectTimeoutMs`. Retries inside the window (a Redis
 * that is still starting is fine); the client keeps an 'error' listener for its whole life.
 */
export async function connectRedis(url: string, options: RedisConnectOptions = {}): Promise<Redis> {
  const timeoutMs = checkTimeout(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  const masked = maskRedisUrl(url);
  const purpose = options.purpose ?? 'Redis';
  const client = new (ioredis().Redis)(url, {
    lazyConnect: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? null : options.maxRetriesPerRequest,
    connectTimeout: Math.min(timeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    retryStrategy: reconnectDelay,
    // ioredis waits this long for a socket to close after disconnect(), even one that never
    // opened: 2 s by default, which would hold up every exit.
    disconnectTimeout: 200,
  });
  const health = watchHealth(client, masked, purpose);
  try {
    await waitUntilReady(client, timeoutMs, options.signal, health);
  } catch (error) {
    client.disconnect();
    const reason = health.lastError ? `: ${health.lastError}` : '';
    const aborted = options.signal?.aborted === true;
    throw new QueueError(
      aborted
        ? `Stopped while connecting to ${purpose} at ${masked}${reason}`
        : `Cannot reach ${purpose} at ${masked} within ${describeSeconds(timeoutMs)}${reason}. Check that Redis runs there, or raise --connect-timeout`,
      { cause: error, context: { url: masked, timeoutMs, retryable: true } },
    );
  }
  health.ready = true;
  return client;
}

/** Opens and closes one connection: a start-up check that fails fast with E060. */
export async function probeRedis(url: string, options: RedisConnectOptions = {}): Promise<void> {
  const client = await connectRedis(url, options);
  client.disconnect();
}

interface Health {
  ready: boolean;
  lastError: string | undefined;
}

/** Outages by masked URL, shared by every connection to it: one warning per interval in all. */
const outages = new Map<string, { since: number; warnedAt: number; failures: number }>();

/**
 * Keeps ioredis from printing stacks (an 'error' listener for the client's life) and turns a
 * dropped connection into one warning per interval per URL, plus one line when it is back.
 */
function watchHealth(client: Redis, masked: string, purpose: string): Health {
  const health: Health = { ready: false, lastError: undefined };
  client.on('error', (error: Error) => {
    health.lastError = maskSecretsInString(error.message || String(error));
    if (!health.ready) return; // the first connection reports through connectRedis's E060
    const now = Date.now();
    const outage = outages.get(masked) ?? { since: now, warnedAt: 0, failures: 0 };
    outages.set(masked, outage);
    outage.failures++;
    if (now - outage.warnedAt < WARN_EVERY_MS) return;
    outage.warnedAt = now;
    getLogger().warn(
      {
        url: masked,
        purpose,
        failures: outage.failures,
        downForMs: now - outage.since,
        err: health.lastError,
      },
      `Redis at ${masked} unreachable; reconnecting with backoff (up to ${MAX_BACKOFF_MS / 1000}s)`,
    );
  });
  client.on('ready', () => {
    const outage = outages.get(masked);
    if (!outage) return;
    outages.delete(masked);
    getLogger().warn(
      { url: masked, purpose, failures: outage.failures, downForMs: Date.now() - outage.since },
      `Redis at ${masked} reachable again`,
    );
  });
  return health;
}

function waitUntilReady(
  client: Redis,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  health: Health,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    // 'end': ioredis gave up (no more retries), e.g. a URL it cannot use at all.
    const onEnd = () => done(new Error(health.lastError ?? 'connection ended'));
    const onAbort = () => done(new Error('aborted'));
    const timer = setTimeout(() => done(new Error('connect timeout')), timeoutMs);
    client.once('ready', onReady);
    client.once('end', onEnd);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // Failures arrive as 'error' events (watched above) and retries; the promise adds nothing.
    client.connect().catch(() => {});
  });
}
