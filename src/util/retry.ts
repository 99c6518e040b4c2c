import { isRetryable } from '../errors.ts';

export interface RetryOptions {
  /** Total attempts, including the first. @default 3 */
  maxAttempts?: number;
  /** Delay before the first retry, in ms. @default 1000 */
  delayMs?: number;
  /** Multiplier per retry. @default 2 */
  factor?: number;
  /** Upper bound on one delay, in ms. @default 30000 */
  maxDelayMs?: number;
  /** Full jitter: each delay is drawn uniformly from [delay/2, delay]. @default true */
  jitter?: boolean;
  /** Which errors to retry. @default isRetryable (network, timeouts, throttling, 5xx) */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The delay before retry number `attempt` (1-based), before jitter. */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.delayMs ?? 1000;
  const factor = options.factor ?? 2;
  return Math.min(options.maxDelayMs ?? 30_000, base * factor ** (attempt - 1));
}

/**
 * Runs `fn` until it succeeds, retrying only errors `shouldRetry` accepts, with exponential
 * backoff and jitter. The seed's `@retry(max_attempts, delay)` decorator, as a function.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`retry: maxAttempts must be a whole number ≥ 1, got ${maxAttempts}`);
  }
  const shouldRetry = options.shouldRetry ?? ((e: unknown) => isRetryable(e));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !shouldRetry(error, attempt) || options.signal?.aborted) throw error;
      let delay = backoffDelay(attempt, options);
      if (options.jitter ?? true) delay = delay / 2 + Math.random() * (delay / 2);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Wraps a function so every call retries (the seed's decorator form). */
export function withRetry<A extends unknown[], T>(
  fn: (...args: A) => Promise<T>,
  options: RetryOptions = {},
) {
  return (...args: A) => retry(() => fn(...args), options);
}
