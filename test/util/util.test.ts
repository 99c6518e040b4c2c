import { describe, expect, it } from 'vitest';
import { NetworkError, ValidationError } from '../../src/errors.ts';
import { parseDuration } from '../../src/util/durations.ts';
import { measureTime } from '../../src/util/measure-time.ts';
import { retry, withRetry } from '../../src/util/retry.ts';
import { formatBytes } from '../../src/util/sizes.ts';

describe('formatBytes', () => {
  it('formats like the seed', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(1024 * 1024)).toBe('1 MB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GB');
    expect(() => formatBytes(Number.NaN)).toThrow(/finite/);
  });
  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2')).toBe(2000);
    expect(() => parseDuration('soon')).toThrow(/Invalid duration/);
  });
});

describe('retry', () => {
  it('retries retryable errors with backoff, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new NetworkError('flaky');
        return 'ok';
      },
      { maxAttempts: 5, delayMs: 10, jitter: false, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(delays).toEqual([10, 20]);
  });

  it('does not retry errors that are not retryable', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new ValidationError('bad input');
        },
        { delayMs: 1 },
      ),
    ).rejects.toThrow('bad input');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const flaky = withRetry(
      async () => {
        calls++;
        throw new NetworkError(`fail ${calls}`);
      },
      { maxAttempts: 3, delayMs: 1 },
    );
    await expect(flaky()).rejects.toThrow('fail 3');
  });

  it('validates maxAttempts', async () => {
    await expect(retry(async () => 1, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
  });
});

describe('measureTime', () => {
  it('returns the result and a duration', async () => {
    const { result, durationMs } = await measureTime(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return 42;
    });
    expect(result).toBe(42);
    expect(durationMs).toBeGreaterThanOrEqual(15);
  });
});
