/**
 * The time-series store on a real full disk (a small tmpfs, see helpers/full-disk.ts): the log
 * and compaction refuse with E012 naming the path, keep every acknowledged point, leave no
 * partial batch and no orphan segment, and work again once space is freed.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DataPointInput, TimeSeriesStore } from '../../src/timeseries/index.ts';
import { useFullDisk } from '../helpers/full-disk.ts';
import { segmentFiles, snapshot } from './helpers.ts';

const disk = useFullDisk('ts-full', '16m');
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const options = { compactIntervalMs: 0, compactPoints: 0 } as const;

/** `n` points of `variable` spread over `days` daily windows, values a Parquet file cannot shrink much. */
function spread(variable: string, n: number, days: number, seed = 1): DataPointInput[] {
  return Array.from({ length: n }, (_, i) => ({
    variable,
    timestamp: T0 + Math.floor((i * days * DAY) / n),
    value: Math.sin(i * seed * 12.9898) * 43758.5453,
  }));
}

describe('time-series store on a full disk', () => {
  it('the log refuses a batch that does not fit with E012 naming its file; acknowledged points stay, none of the batch shows, and it writes again once space is freed', async () => {
    const dir = path.join(disk.dir, 'log');
    // Less room than the 8 MiB the log preallocates ahead of small commits.
    expect(disk.fill(2 << 20).code).toBe('ENOSPC');
    const store = await TimeSeriesStore.open(dir, options);
    for (let i = 0; i < 50; i++) await store.storeDataPoint('v', T0 + i, i);
    await store.storeDataPoints(spread('w', 1000, 1));

    // About 6 MB of strings: more than is left.
    const big = Array.from({ length: 40_000 }, (_, i) => ({
      variable: 'big',
      timestamp: T0 + i,
      value: `${i}:${'z'.repeat(150)}`,
    }));
    const refused = store.storeDataPoints(big);
    await expect(refused).rejects.toMatchObject({ code: 'E012' });
    await expect(refused).rejects.toThrow(new RegExp(`disk full writing ${dir}/wal/wal-\\d{16}\\.log`));
    expect(await store.queryAll('big')).toEqual([]);

    disk.free();
    await store.storeDataPoint('v', T0 + 50, 50);
    await store.storeDataPoints(big.slice(0, 10));
    const before = await snapshot(store);
    await store.close();

    const again = await TimeSeriesStore.open(dir, options);
    try {
      const after = await snapshot(again);
      expect(after).toEqual(before);
      expect(after.v?.map((p) => p.value)).toEqual(Array.from({ length: 51 }, (_, i) => i));
      expect(after.w).toHaveLength(1000);
      expect(after.big?.map((p) => p.value)).toEqual(big.slice(0, 10).map((p) => p.value));
    } finally {
      await again.close();
    }
  });

  it('compaction refuses with E012 naming the path, leaves no orphan segment, keeps every point, and compacts once space is freed', async () => {
    const dir = path.join(disk.dir, 'compact');
    const store = await TimeSeriesStore.open(dir, options);
    await store.storeDataPoints(spread('a', 30_000, 10, 1));
    await store.compact();
    const live = await segmentFiles(dir);
    expect(live.orphans).toEqual([]);
    await store.storeDataPoints([...spread('a', 30_000, 10, 2), ...spread('b', 30_000, 10, 3)]);
    const before = await snapshot(store);

    // Room for a few of the 20 segments the next compaction writes: its storage put is refused.
    // Then no room at all: DuckDB cannot write its staging file.
    for (const leave of [100 << 10, 0]) {
      expect(disk.fill(leave).code).toBe('ENOSPC');
      const refused = store.compact();
      await expect(refused).rejects.toMatchObject({ code: 'E012' });
      // The first write refused names its file: a segment, DuckDB's staging file, or the lineage
      // intent that must be durable before the segments are written.
      await expect(refused).rejects.toThrow(
        new RegExp(`^disk full writing ${dir}/(segments|wal/scratch|_sluice/lineage)/`),
      );
      // What the failed run wrote is gone again; the published segments are untouched.
      const left = await segmentFiles(dir);
      expect(left.orphans).toEqual([]);
      expect(left.live).toEqual(live.live);
      expect(await snapshot(store)).toEqual(before);
    }

    disk.free();
    const done = await store.compact();
    expect(done.segmentsWritten).toBe(20);
    expect((await segmentFiles(dir)).orphans).toEqual([]);
    await store.close();

    const again = await TimeSeriesStore.open(dir, { ...options, readOnly: true });
    try {
      expect(await snapshot(again)).toEqual(before);
    } finally {
      await again.close();
    }
    expect(await fsp.readdir(path.join(dir, 'wal'))).not.toContain('scratch');
  });

  it('export to a full disk is refused with E012 naming the output and leaves no temp file', async () => {
    const dir = path.join(disk.dir, 'export-src');
    const store = await TimeSeriesStore.open(dir, options);
    try {
      await store.storeDataPoints(spread('e', 20_000, 2, 5));
      const out = path.join(disk.dir, 'exported');
      expect(disk.fill().code).toBe('ENOSPC');
      for (const [format, target] of [
        ['jsonl', path.join(out, 'e.jsonl')],
        ['csv', path.join(out, 'all.csv')],
        ['parquet', path.join(out, 'all.parquet')],
      ] as const) {
        const refused = store.export(undefined, { format, out: format === 'jsonl' ? out : target });
        await expect(refused).rejects.toMatchObject({ code: 'E012' });
        await expect(refused).rejects.toThrow(`disk full writing ${target}`);
        expect(await fsp.readdir(out)).toEqual([]);
      }
      disk.free();
      const done = await store.export(undefined, { format: 'csv', out: path.join(out, 'all.csv') });
      expect(done.points).toBe(20_000);
    } finally {
      disk.free();
      await store.close();
    }
  });
});
