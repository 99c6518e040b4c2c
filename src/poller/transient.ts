/**
 * The poller's retry policy for transient failures (errors.ts classifyFailure): a few attempts
 * with exponential backoff and jitter, within one poll; what still fails waits for the next poll.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyFailure } from '../errors.ts';
import type { ListEntry, Storage } from '../storage/types.ts';
import { readFaultOf } from '../storage/verified-read.ts';
import { backoffDelay, retry } from '../util/retry.ts';

export interface TransientPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Delay before the first retry, doubled per retry up to MAX_RETRY_DELAY_MS, with jitter. */
  delayMs: number;
  signal?: AbortSignal;
}

export const MAX_RETRY_DELAY_MS = 10_000;

type OnRetry = (error: unknown, attempt: number, delayMs: number) => void;

/**
 * True for failures a retry within the poll may cure. An object that changed since it was
 * listed is transient too, but only the next listing can read it.
 */
export function retryNow(error: unknown): boolean {
  return classifyFailure(error) === 'transient' && readFaultOf(error) !== 'changed';
}

/** Runs `fn`, retrying what `retryNow` accepts. */
export function retryTransient<T>(
  policy: TransientPolicy,
  onRetry: OnRetry,
  fn: () => Promise<T>,
): Promise<T> {
  return retry(fn, {
    maxAttempts: policy.attempts,
    delayMs: policy.delayMs,
    maxDelayMs: MAX_RETRY_DELAY_MS,
    shouldRetry: retryNow,
    onRetry,
    ...(policy.signal ? { signal: policy.signal } : {}),
  });
}

/**
 * Every entry under `prefix`, recursively. A listing broken by a transient fault resumes after the
 * last key it gave (listings come in key order), up to `attempts` failures in a row; a listing
 * that cannot finish throws, never ends early.
 */
export async function* listResuming(
  storage: Storage,
  prefix: string,
  policy: TransientPolicy,
  onRetry: OnRetry,
): AsyncGenerator<ListEntry> {
  let after: string | undefined;
  let failures = 0;
  for (;;) {
    try {
      const from = after === undefined ? {} : { startAfter: after };
      for await (const entry of storage.list({ prefix, recursive: true, ...from })) {
        if (entry.type === 'object') after = entry.key;
        failures = 0;
        yield entry;
      }
      return;
    } catch (error) {
      failures++;
      if (failures >= policy.attempts || classifyFailure(error) !== 'transient' || policy.signal?.aborted) {
        throw error;
      }
      const full = backoffDelay(failures, { delayMs: policy.delayMs, maxDelayMs: MAX_RETRY_DELAY_MS });
      const delay = full / 2 + Math.random() * (full / 2);
      onRetry(error, failures, delay);
      await sleep(delay, undefined, policy.signal ? { signal: policy.signal } : {}).catch(() => {});
    }
  }
}
