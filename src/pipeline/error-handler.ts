/**
 * Recovery strategies for pipeline errors: transient ones (network, timeouts, throttling, 5xx)
 * are retried with backoff when the caller says how; everything else is reported as not
 * recovered (and logged, masked, at debug level only: the caller reports it). Every handled error is kept for the run's status.
 */
import { isRetryable, toSluiceError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { type RetryOptions, retry } from '../util/retry.ts';

export interface ErrorContext {
  operation?: string;
  /** Re-runs the failed operation; given, a transient error is retried with it. */
  retry?: () => Promise<unknown>;
  [key: string]: unknown;
}

export interface ErrorHandlerOptions {
  /** Backoff for transient errors. @default { maxAttempts: 3, delayMs: 500 } */
  retry?: RetryOptions;
}

export interface HandledError {
  code: string;
  message: string;
  operation?: string;
  recovered: boolean;
  at: string;
}

export class ErrorHandler {
  readonly handled: HandledError[] = [];
  private readonly retryOptions: RetryOptions;

  constructor(options: ErrorHandlerOptions = {}) {
    this.retryOptions = { maxAttempts: 3, delayMs: 500, ...options.retry };
  }

  /** True when the error was recovered (a retry succeeded); false means the caller should rethrow. */
  async handleError(error: unknown, context: ErrorContext = {}): Promise<boolean> {
    const e = toSluiceError(error);
    const { retry: again, ...rest } = context;
    let recovered = false;
    if (again && isRetryable(e)) {
      try {
        await retry(again, {
          ...this.retryOptions,
          onRetry: (err, attempt, delay) =>
            getLogger().warn(
              { ...rest, attempt, delayMs: delay, err: toSluiceError(err).message },
              'retrying',
            ),
        });
        recovered = true;
      } catch (final) {
        getLogger().error({ ...rest, err: toSluiceError(final).toJSON() }, 'retries exhausted');
      }
    } else {
      // Not an error line: the caller rethrows or records it, and whoever runs the operation
      // reports it once (the CLI printed it three times when this logged at error level).
      getLogger().debug({ ...rest, err: e.toJSON() }, 'operation failed, not retried');
    }
    this.handled.push({
      code: e.code,
      message: e.message,
      ...(typeof context.operation === 'string' ? { operation: context.operation } : {}),
      recovered,
      at: new Date().toISOString(),
    });
    return recovered;
  }

  /** Runs `fn`, retrying transient failures; other errors are recorded and rethrown. */
  async run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      let value: T | undefined;
      const recovered = await this.handleError(error, {
        operation,
        retry: async () => {
          value = await fn();
        },
      });
      if (recovered) return value as T;
      throw toSluiceError(error);
    }
  }
}
