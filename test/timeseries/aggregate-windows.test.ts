import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { SegmentFiles } from '../../src/timeseries/segments.ts';
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

  it('gives the same buckets from a fresh reader (DuckDB aggregates the segment files) as from the points in memory', async () => {
    const dir = path.join(tempDir('ts-agg-segments'), 'store');
    const writer = await TimeSeriesStore.open(dir, {
      partitionMs: 60_000,
      compactIntervalMs: 0,
      compactPoints: 0,
    });
    const t0 = Date.UTC(2024, 0, 1);
    // Every kind of value, decimals whose plain sums round differently by order, buckets across
    // windows, and a bucket of strings only (numeric functions give value null, count 0).
    const values = (i: number) =>
      i % 11 === 0 ? 'text' : i % 13 === 0 ? null : i % 17 === 0 ? i % 2 === 0 : ((i * 37) % 101) / 10 + 0.1;
    const points = Array.from({ length: 2_000 }, (_, i) => ({
      variable: 'x',
      timestamp: t0 + i * 1_700,
      value: values(i),
      ...(i % 5 === 0 ? { metadata: { n: i } } : {}),
    }));
    points.push(...[0, 1, 2].map((k) => ({ variable: 'x', timestamp: t0 + 4_000_000 + k, value: 's' })));
    const fns = ['avg', 'sum', 'count', 'min', 'max', 'first', 'last'] as const;
    const ranges = [{}, { from: new Date(t0 + 95_000), to: new Date(t0 + 2_000_000) }];
    const inMemory = new Map<string, unknown>();
    try {
      await writer.storeDataPoints(points);
      for (const fn of fns)
        for (const [r, range] of ranges.entries())
          inMemory.set(`${fn} ${r}`, await writer.aggregate('x', { every: '90s', fn, ...range }));
      await writer.compact();
    } finally {
      await writer.close();
    }
    const reader = await TimeSeriesStore.open(dir, { readOnly: true, partitionMs: 60_000 });
    try {
      expect((await reader.stats()).bufferedPoints, 'every point is in a segment').toBe(0);
      // No segment is decoded into rows: every window is aggregated by DuckDB on its file.
      const decoded = vi.spyOn(SegmentFiles.prototype, 'read');
      for (const fn of fns)
        for (const [r, range] of ranges.entries()) {
          const rows = await reader.aggregate('x', { every: '90s', fn, ...range });
          const want = inMemory.get(`${fn} ${r}`) as typeof rows;
          expect(rows.length).toBeGreaterThan(10);
          if (fn === 'sum' || fn === 'avg') {
            // Both sides sum with compensation, by different algorithms: equal to the last digit.
            const close = (x: unknown, y: unknown) =>
              x === y || Math.abs((x as number) - (y as number)) <= 1e-14 * Math.abs(y as number);
            const strip = (rs: typeof rows) => rs.map(({ value: _, ...rest }) => rest);
            expect(strip(rows), `${fn}, range ${r}`).toEqual(strip(want));
            const far = rows.filter((row, k) => !close(row.value, want[k]?.value));
            expect(far, `${fn}, range ${r}: values beyond 1e-14 relative`).toEqual([]);
          } else expect(rows, `${fn}, range ${r}`).toEqual(want);
        }
      expect(decoded).not.toHaveBeenCalled();
      decoded.mockRestore();
      const strings = await reader.aggregate('x', { every: '1s', fn: 'avg', from: new Date(t0 + 4_000_000) });
      expect(strings).toEqual([expect.objectContaining({ value: null, count: 0 })]);
    } finally {
      await reader.close();
    }
  });
});
