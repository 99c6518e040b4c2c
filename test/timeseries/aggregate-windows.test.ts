import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('aggregate across partition windows', () => {
  it('carries a bucket that spans two windows over, before and after compaction, as a whole-series computation gives', async () => {
    const dir = path.join(tempDir('ts-agg-windows'), 'store');
    // 1-minute windows and 90-second buckets: every other bucket spans two windows.
    const store = await TimeSeriesStore.open(dir, {
      partitionMs: 60_000,
      compactIntervalMs: 0,
      compactPoints: 0,
    });
    try {
      const t0 = Date.UTC(2024, 0, 1);
      const points = Array.from({ length: 1_000 }, (_, i) => ({
        variable: 'x',
        timestamp: t0 + i * 1_700,
        value: i % 7 === 0 ? 'not a number' : (i * 37) % 101,
      }));
      await store.storeDataPoints(points);
      const expected = (fn: 'avg' | 'sum' | 'count' | 'min' | 'max' | 'first' | 'last') => {
        const buckets = new Map<number, (string | number)[]>();
        for (const p of points) {
          const b = Math.floor(p.timestamp / 90_000) * 90_000;
          buckets.set(b, [...(buckets.get(b) ?? []), p.value]);
        }
        return [...buckets].map(([b, values]) => {
          const nums = values.filter((v): v is number => typeof v === 'number');
          const value =
            fn === 'count'
              ? values.length
              : fn === 'first'
                ? values[0]
                : fn === 'last'
                  ? values.at(-1)
                  : fn === 'sum'
                    ? nums.reduce((a, v) => a + v, 0)
                    : fn === 'avg'
                      ? nums.reduce((a, v) => a + v, 0) / nums.length
                      : fn === 'min'
                        ? Math.min(...nums)
                        : Math.max(...nums);
          return { bucketMicros: b * 1000, value };
        });
      };
      for (const phase of ['buffered', 'compacted']) {
        if (phase === 'compacted') await store.compact();
        for (const fn of ['avg', 'sum', 'count', 'min', 'max', 'first', 'last'] as const) {
          const rows = await store.aggregate('x', { every: '90s', fn });
          expect(
            rows.map((r) => ({ bucketMicros: r.bucketMicros, value: r.value })),
            `${fn}, ${phase}`,
          ).toEqual(expected(fn));
        }
      }
    } finally {
      await store.close();
    }
  });
});
