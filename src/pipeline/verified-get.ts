/**
 * Whole-object reads for the pipeline's own files (manifests, load records, backups, datasets it
 * validates, hashes or downloads for DuckDB): each read is checked against a stat of the object
 * (a body that breaks, ends short, stalls or belongs to another version is a transient read
 * fault, never bytes to parse, hash or hand to DuckDB) and transient failures are retried with
 * backoff, as sync and the poller do. Without this a reset or a cut body on one of the many reads
 * of a promotion failed it (E007, E099, or E005 "not readable"), and the more datasets a lake
 * held, the less a promotion could get through a flaky network.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isTransient } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { sha256Stream } from '../storage/content-hash.ts';
import type { Storage } from '../storage/types.ts';
import { VerifiedRead } from '../storage/verified-read.ts';
import { retry } from '../util/retry.ts';

export interface VerifiedGetOptions {
  /** Attempts in all, the first included. @default 4 */
  attempts?: number;
  /** Delay before the first retry, doubled per retry (at most 10 s), with jitter. @default 500 */
  delayMs?: number;
  /** A read that receives no bytes for this long is a transient fault (stalled). @default 60000 */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Downloads only: bytes written so far against the object's size, as they arrive. A retry
   * downloads again from the start, and counts again from 0.
   */
  onBytes?: (done: number, total: number) => void;
}

/**
 * Runs `consume` over a verified read of `key`; a read fault or another transient failure starts
 * over (stat and read) after a backoff. A missing object is NotFoundError (E011) from the stat.
 */
export function readVerified<T>(
  store: Storage,
  key: string,
  consume: (body: Readable, size: number) => Promise<T>,
  options: VerifiedGetOptions = {},
): Promise<T> {
  const signal = options.signal;
  return retry(
    async () => {
      const info = await store.stat(key);
      const read = await VerifiedRead.open(
        store,
        { key, size: info.size, etag: info.etag },
        { idleTimeoutMs: options.idleTimeoutMs ?? 60_000, ...(signal ? { signal } : {}) },
      );
      let result: T;
      try {
        result = await consume(read.stream, info.size);
      } catch (error) {
        // A read fault beats what the consumer made of the bytes (a cut JSON, a short Parquet).
        throw (await read.fault()) ?? error;
      }
      const fault = await read.fault();
      if (fault) throw fault;
      return result;
    },
    {
      maxAttempts: options.attempts ?? 4,
      delayMs: options.delayMs ?? 500,
      maxDelayMs: 10_000,
      shouldRetry: (error) => isTransient(error) && !signal?.aborted,
      onRetry: (error, attempt, delayMs) =>
        getLogger().warn(
          { key, attempt, delayMs: Math.round(delayMs), err: (error as Error).message },
          'read failed; retrying',
        ),
      ...(signal ? { signal } : {}),
    },
  );
}

async function collect(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** The whole object, verified. */
export function getVerified(store: Storage, key: string, options?: VerifiedGetOptions): Promise<Buffer> {
  return readVerified(store, key, collect, options);
}

/** sha256 of the object's bytes, verified. */
export function sha256Verified(store: Storage, key: string, options?: VerifiedGetOptions): Promise<string> {
  return readVerified(store, key, sha256Stream, options);
}

/** Downloads the object to `file` (rewritten whole on a retry), verified. */
export function downloadVerified(
  store: Storage,
  key: string,
  file: string,
  options?: VerifiedGetOptions,
): Promise<void> {
  const onBytes = options?.onBytes;
  return readVerified(
    store,
    key,
    (body, size) =>
      onBytes
        ? pipeline(
            body,
            countBytes((n) => onBytes(n, size)),
            createWriteStream(file),
          )
        : pipeline(body, createWriteStream(file)),
    options,
  );
}

/** A pass-through telling `onCount` how many bytes went through it so far. */
function countBytes(onCount: (bytes: number) => void): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      onCount(bytes);
      done(null, chunk);
    },
  });
}

/** Downloads the object to `file` like downloadVerified, hashing the bytes on their way (read once). */
export function downloadVerifiedHashed(
  store: Storage,
  key: string,
  file: string,
  options?: VerifiedGetOptions,
): Promise<{ sha256: string; size: number }> {
  return readVerified(
    store,
    key,
    async (body, total) => {
      const hash = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          options?.onBytes?.(size, total);
          done(null, chunk);
        },
      });
      await pipeline(body, tap, createWriteStream(file));
      return { sha256: hash.digest('hex'), size };
    },
    options,
  );
}
