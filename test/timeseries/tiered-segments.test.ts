/**
 * Compaction writes newer points beside a window's segments instead of rewriting them, merges a
 * late point only into the segment it falls among, and keeps a window to 8 segments by merging
 * the newest ones (never the big old ones); readers (in memory and fresh, aggregating on the
 * files) see the same points.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const T0 = Date.UTC(2024, 0, 1);

describe('segments of a window', () => {
  it('are added beside, merged only where late points fall, and kept to 8 by merging the newest', async () => {
    const dir = path.join(tempDir('ts-tiered'), 'store');
    const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
    const keys = async () => (await store.stats()).segments;
    const expected: { t: number; v: number }[] = [];
    try {
      // Three in-order compactions within one day: three segments, none rewritten.
      const written: string[][] = [];
      for (let round = 0; round < 3; round++) {
        const batch = Array.from({ length: 1_000 }, (_, i) => ({
          t: T0 + (round * 1_000 + i) * 1000,
          v: round * 1_000 + i,
        }));
        expected.push(...batch);
        await store.storeDataPoints(batch.map((p) => ({ variable: 'x', timestamp: p.t, value: p.v })));
        const r = await store.compact();
        expect(r.segmentsRemoved, `round ${round} rewrote nothing`).toBe(0);
        written.push(segmentFiles(dir));
      }
      expect(await keys()).toBe(3);
      expect(written[2]?.filter((f) => written[0]?.includes(f))).toHaveLength(1);
      expect(written[2]).toHaveLength(3);
      // A late point inside the second segment's range: only that segment is rewritten.
      await store.storeDataPoint('x', T0 + 1_500_500, -1);
      expected.push({ t: T0 + 1_500_500, v: -1 });
      const late = await store.compact();
      expect(late.segmentsRemoved).toBe(1);
      expect(await keys()).toBe(3);
      const big = segmentFiles(dir);
      // Six more in-order rounds: the last would make 9, so the newest are merged while they
      // outweigh their older neighbour: the six small ones (600 points), not the 1,000s.
      let rewritten = 0;
      for (let round = 3; round < 9; round++) {
        const batch = Array.from({ length: 100 }, (_, i) => ({
          t: T0 + (round * 1_000 + i) * 1000,
          v: round * 1_000 + i,
        }));
        expected.push(...batch);
        await store.storeDataPoints(batch.map((p) => ({ variable: 'x', timestamp: p.t, value: p.v })));
        rewritten += (await store.compact()).pointsRewritten;
      }
      expect(await keys()).toBe(4);
      expect(rewritten).toBe(500);
      expect(segmentFiles(dir).filter((f) => big.includes(f))).toHaveLength(3);
      expected.sort((a, b) => a.t - b.t);
      expect((await store.queryAll('x')).map((p) => p.value)).toEqual(expected.map((p) => p.v));
    } finally {
      await store.close();
    }
  });

  it('a fresh reader aggregates a window of several segments on the files as the writer does in memory', async () => {
    const dir = path.join(tempDir('ts-tiered-agg'), 'store');
    const writer = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
    const fns = ['avg', 'count', 'min', 'max', 'first', 'last'] as const;
    const inMemory = new Map<string, unknown>();
    try {
      for (let round = 0; round < 4; round++) {
        await writer.storeDataPoints(
          Array.from({ length: 500 }, (_, i) => ({
            variable: 'y',
            timestamp: T0 + (round * 500 + i) * 7_000,
            value: i % 10 === 0 ? `s${i}` : round * 500 + i,
          })),
        );
        await writer.compact();
      }
      expect((await writer.stats()).segments).toBe(4);
      for (const fn of fns) inMemory.set(fn, await writer.aggregate('y', { every: '5m', fn }));
    } finally {
      await writer.close();
    }
    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    try {
      for (const fn of fns)
        expect(await reader.aggregate('y', { every: '5m', fn }), fn).toEqual(inMemory.get(fn));
    } finally {
      await reader.close();
    }
  });
});

/** Segment files, relative to the store. */
function segmentFiles(dir: string): string[] {
  const root = path.join(dir, 'segments');
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet'));
}
