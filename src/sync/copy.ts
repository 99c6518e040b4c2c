/**
 * How sync reads and copies one object: every read is verified against the listing (a body that
 * breaks, ends short, stalls or belongs to another version is a transient read fault, never
 * bytes to store or hash), and transient failures are retried with backoff and jitter. What still
 * fails transiently is deferred: its target is left as it was, and the sync reports it.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isTransient, type SluiceError, StorageError, SyncError, ValidationError } from '../errors.ts';
import { collectBody } from '../storage/body.ts';
import { SHA256_META, sha256Stream } from '../storage/content-hash.ts';
import type { PutBody, PutResult, Storage } from '../storage/types.ts';
import { changedSinceListed, readFaultOf, VerifiedRead } from '../storage/verified-read.ts';
import { retry } from '../util/retry.ts';
import type { HashCache } from './hash-cache.ts';

/** One listed object. */
export interface Entry {
  key: string;
  size: number;
  etag: string;
  mtime: Date;
}

export interface RetryPolicy {
  /** Attempts per object, the first included. */
  attempts: number;
  /** Delay before the first retry, doubled per retry up to MAX_RETRY_DELAY_MS, with jitter. */
  delayMs: number;
  /** A read that receives no bytes for this long is a transient fault (stalled). */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Called before each retry (to count and log it). */
  onRetry: (error: unknown, key: string, attempt: number, delayMs: number) => void;
}

export const MAX_RETRY_DELAY_MS = 10_000;

function option(name: string, value: number | undefined, fallback: number, min: number, whole = false) {
  const x = value ?? fallback;
  if (!Number.isFinite(x) || x < min || (whole && !Number.isInteger(x))) {
    throw new ValidationError(
      `Sync option ${name} must be a ${whole ? 'whole ' : ''}number ≥ ${min}, got ${String(value)}`,
    );
  }
  return x;
}

/** The policy from sync's options, each checked (ValidationError naming the option). */
export function retryPolicy(
  options: {
    transientAttempts?: number;
    retryDelayMs?: number;
    readIdleTimeoutMs?: number;
    signal?: AbortSignal;
  },
  onRetry: RetryPolicy['onRetry'],
): RetryPolicy {
  return {
    attempts: option('transientAttempts', options.transientAttempts, 3, 1, true),
    delayMs: option('retryDelayMs', options.retryDelayMs, 500, 0),
    idleTimeoutMs: option('readIdleTimeoutMs', options.readIdleTimeoutMs, 60_000, 1),
    ...(options.signal ? { signal: options.signal } : {}),
    onRetry,
  };
}

/** Local files are checked for "racy" cache entries (see HashCache.get); S3 etags are content hashes. */
export function localMtime(store: Storage, e: { mtime: Date }): Date | undefined {
  return store.capabilities.localFiles ? e.mtime : undefined;
}

/** Runs `fn` with `policy`, retrying transient failures (errors.ts classifyFailure). */
export function withRetries<T>(policy: RetryPolicy, key: string, fn: () => Promise<T>): Promise<T> {
  return retry(fn, {
    maxAttempts: policy.attempts,
    delayMs: policy.delayMs,
    maxDelayMs: MAX_RETRY_DELAY_MS,
    shouldRetry: (error) => isTransient(error) && !policy.signal?.aborted,
    onRetry: (error, attempt, delay) => policy.onRetry(error, key, attempt, delay),
    ...(policy.signal ? { signal: policy.signal } : {}),
  });
}

/**
 * Hands `use` the body of `listed`, checked as it streams; a read fault wins over whatever `use`
 * made of the bytes (a put of a body cut short fails before it publishes anything).
 */
async function readVerified<T>(
  store: Storage,
  listed: Entry,
  policy: RetryPolicy,
  use: (body: Readable) => Promise<T>,
): Promise<T> {
  const read = await VerifiedRead.open(store, listed, {
    idleTimeoutMs: policy.idleTimeoutMs,
    ...(policy.signal ? { signal: policy.signal } : {}),
  });
  let value: T;
  try {
    value = await use(read.stream);
  } catch (error) {
    throw (await read.fault()) ?? error;
  } finally {
    // A `use` that failed before reading (a refused put) must not leave the transfer open.
    read.stream.destroy();
  }
  const fault = await read.fault();
  if (fault) throw fault;
  return value;
}

/**
 * The whole body of a small object. A local file is no network transfer (nothing cuts it short),
 * so it is read in one call and checked for its listed length only — a file that grew or shrank
 * since it was listed is `changed`; the streamed, watched read costs ~3× the CPU per small file.
 */
async function readWhole(store: Storage, listed: Entry, policy: RetryPolicy): Promise<Buffer> {
  if (!store.capabilities.localFiles) return readVerified(store, listed, policy, collectBody);
  const bytes = await store.get(listed.key, policy.signal ? { signal: policy.signal } : {});
  if (bytes.length !== listed.size) {
    throw changedSinceListed(store, listed.key, `${bytes.length} bytes now, ${listed.size} listed`);
  }
  return bytes;
}

/** sha256 of a body, checked like `readWhole`: verified from a remote store, by length from a local one. */
async function hashBody(store: Storage, listed: Entry, policy: RetryPolicy): Promise<string> {
  if (!store.capabilities.localFiles) return readVerified(store, listed, policy, sha256Stream);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await store.getStream(
    listed.key,
    policy.signal ? { signal: policy.signal } : {},
  )) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  if (bytes !== listed.size) {
    throw changedSinceListed(store, listed.key, `${bytes} bytes now, ${listed.size} listed`);
  }
  return hash.digest('hex');
}

/** sha256 of an object version: cache, then metadata (of that very version), then the checked bytes. */
export async function hashOf(
  store: Storage,
  cache: HashCache,
  e: Entry,
  policy: RetryPolicy,
): Promise<string> {
  const cached = cache.get(e.key, e.etag, e.size, localMtime(store, e));
  if (cached) return cached;
  const at = Date.now();
  let sha: string | undefined;
  if (!store.capabilities.localFiles) {
    const info = await store.stat(e.key);
    if (info.etag === e.etag) sha = info.metadata[SHA256_META];
  }
  sha ??= await hashBody(store, e, policy);
  cache.set(e.key, e.etag, e.size, sha, at);
  return sha;
}

/** The source object as it is now, when the listing's version is gone. */
async function current(src: Storage, key: string): Promise<Entry> {
  try {
    const info = await src.stat(key);
    return { key, size: info.size, etag: info.etag, mtime: info.mtime };
  } catch (error) {
    if ((error as SluiceError).code !== 'E011') throw error;
    throw new StorageError(
      `${src.url}${src.url.endsWith('/') ? '' : '/'}${key} was removed since it was listed`,
      {
        cause: error,
        context: { key, readFault: 'changed', retryable: true },
      },
    );
  }
}

export interface CopyJob {
  src: Storage;
  dst: Storage;
  srcCache: HashCache;
  dstCache: HashCache;
  bufferLimit: number;
  /** Bytes of a large (streamed) object put so far, for live progress within one object. */
  onBytes?: (key: string, bytes: number) => void;
}

async function copyOnce(job: CopyJob, s: Entry, policy: RetryPolicy): Promise<PutResult> {
  const { src, dst, srcCache } = job;
  const put = (body: PutBody, sha: string) =>
    dst.put(s.key, body, {
      metadata: { [SHA256_META]: sha },
      ...(policy.signal ? { signal: policy.signal } : {}),
      // Streamed (large) objects only: a small one is one write, counted when it is copied.
      ...(job.onBytes && s.size > job.bufferLimit
        ? { onProgress: (bytes: number) => job.onBytes?.(s.key, bytes) }
        : {}),
    });
  let sha = srcCache.get(s.key, s.etag, s.size, localMtime(src, s));
  let result: PutResult;
  if (s.size <= job.bufferLimit) {
    const at = Date.now();
    const bytes = await readWhole(src, s, policy);
    if (!sha) {
      sha = createHash('sha256').update(bytes).digest('hex');
      srcCache.set(s.key, s.etag, s.size, sha, at);
    }
    result = await put(bytes, sha);
  } else {
    const known = sha ?? (await hashOf(src, srcCache, s, policy));
    sha = known;
    result = await readVerified(src, s, policy, (body) => put(body, known));
  }
  job.dstCache.set(s.key, result.etag, result.size, sha);
  return result;
}

/**
 * Copies `listed` to the target, retrying transient failures. An object rewritten since it was
 * listed is copied as it is at the retry (its listing is stale, not the network), so the target
 * gets one whole version, whose sha256 goes with it. Returns the bytes copied.
 */
export async function copyWithRetries(job: CopyJob, listed: Entry, policy: RetryPolicy): Promise<number> {
  let entry = listed;
  let stale = false;
  return withRetries(policy, listed.key, async () => {
    if (stale) {
      entry = await current(job.src, listed.key);
      stale = false;
    }
    try {
      return (await copyOnce(job, entry, policy)).size;
    } catch (error) {
      stale = readFaultOf(error) === 'changed';
      throw error;
    }
  });
}

export interface Deferred {
  key: string;
  /** The error code of the last attempt's failure (E007 for a connection reset, …). */
  code: string;
  reason: string;
}

/** E070 (transient) for a sync that copied what it could and deferred the rest. */
export function deferredError(
  src: Storage,
  dst: Storage,
  deferred: Deferred[],
  done: { copied: number; deleted: number; attempts: number },
): SluiceError {
  const sorted = [...deferred].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const shown = sorted.slice(0, 5).map((d) => `${d.key} (${d.code}: ${d.reason})`);
  const more = sorted.length > 5 ? `; and ${sorted.length - 5} more` : '';
  const n = sorted.length;
  return new SyncError(
    `Sync from ${src.url} to ${dst.url}: ${n} object${n === 1 ? '' : 's'} deferred after ${done.attempts} attempts each (transient faults); their targets were left as they were: ${shown.join('; ')}${more}. ${done.copied} copied, ${done.deleted} deleted; run the sync again to copy the rest`,
    { context: { deferred: sorted, ...done, retryable: true } },
  );
}
