/**
 * latest() of a fresh reader: the last points of every run of a file from its footer, read once
 * (no DuckDB scan, no segment decoded whole); a store of the earlier layout without `last` in its
 * manifest reads each file's last row; buffered points win when they are later. (Files of many
 * variables without the footer's last points: latest-footer.test.ts; the earlier layout's
 * manifest `last`: legacy-layout.test.ts.)
 */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { PointLog } from '../../src/timeseries/point-log.ts';
import { SegmentFiles } from '../../src/timeseries/segments.ts';
import { tempDir } from '../helpers/tmp.ts';
import { toLegacyLayout } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1);

describe('latest() of a fresh reader', () => {
  it('answers from the file’s footer, or the file’s last row, exactly as the writer does', async () => {
    const dir = path.join(tempDir('ts-latest'), 'store');
    const long = 'x'.repeat(600);
    const writer = await TimeSeriesStore.open(dir, {
      compactIntervalMs: 0,
      compactPoints: 0,
      keepDuplicates: true,
    });
    const expected = new Map<string, unknown>();
    try {
      await writer.storeDataPoints([
        { variable: 'a', timestamp: T0, value: 1 },
        { variable: 'a', timestamp: T0 + 1000, value: 'two', metadata: { unit: 'C' } },
        { variable: 'dup', timestamp: T0, value: 1 },
        { variable: 'dup', timestamp: T0, value: 2, metadata: { n: 2 } }, // kept; the last stored wins
        { variable: 'long', timestamp: T0, value: long, metadata: { note: long } },
        { variable: 'bool', timestamp: T0, value: true },
      ]);
      await writer.compact();
      for (const v of ['a', 'dup', 'long', 'bool']) expected.set(v, await writer.latest(v));
    } finally {
      await writer.close();
    }
    const reader = await TimeSeriesStore.open(dir, { readOnly: true, keepDuplicates: true });
    const proto = SegmentFiles.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const footer = vi.spyOn(proto, 'footerLastRows');
    const scan = vi.spyOn(proto, 'scanLastRows');
    const rowReads = vi.spyOn(proto, 'readFile');
    const decoded = vi.spyOn(SegmentFiles.prototype, 'read');
    try {
      for (const v of ['a', 'dup', 'bool']) expect(await reader.latest(v), v).toEqual(expected.get(v));
      expect(footer, 'the footer of the file, once').toHaveBeenCalledTimes(1);
      expect(rowReads, 'no row read through DuckDB').not.toHaveBeenCalled();
      // Its texts are too long for the footer: that one row is read from the file.
      expect(await reader.latest('long')).toEqual(expected.get('long'));
      expect(rowReads).toHaveBeenCalledTimes(1);
      expect(scan, 'no scan of the file').not.toHaveBeenCalled();
      expect(decoded, 'no segment decoded whole').not.toHaveBeenCalled();
    } finally {
      footer.mockRestore();
      scan.mockRestore();
      rowReads.mockRestore();
      decoded.mockRestore();
      await reader.close();
    }

    // The earlier layout without `last` in its manifest: each file's last row gives the same answer.
    let n = 0;
    await toLegacyLayout(
      dir,
      (e) => `segments/var=${e.variable}/window=2024-01-01T000000/old-${++n}.parquet`,
    );
    const older = await TimeSeriesStore.open(dir, { readOnly: true, keepDuplicates: true });
    try {
      for (const v of ['a', 'dup', 'long', 'bool']) expect(await older.latest(v), v).toEqual(expected.get(v));
    } finally {
      await older.close();
    }
  });

  it('prefers a later buffered point, and a buffered point at the same time (written later)', async () => {
    const dir = path.join(tempDir('ts-latest-buf'), 'store');
    const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
    try {
      await store.storeDataPoint('v', T0, 1);
      await store.compact();
      await store.storeDataPoint('v', T0, 2);
      expect((await store.latest('v'))?.value).toBe(2);
      await store.storeDataPoint('v', T0 + 5, 3);
      expect((await store.latest('v'))?.value).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('answers a list of variables from one refresh, as one call per variable would', async () => {
    const dir = path.join(tempDir('ts-latest-list'), 'store');
    const writer = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
    const names = Array.from({ length: 300 }, (_, i) => `v${i}`);
    try {
      await writer.storeDataPoints(names.map((v, i) => ({ variable: v, timestamp: T0, value: i })));
      await writer.compact();
      // Later points of some variables stay in the log, which the reader reads too.
      await writer.storeDataPoints(
        names
          .slice(0, 50)
          .map((v, i) => ({ variable: v, timestamp: T0 + 1000, value: -i, metadata: { k: i } })),
      );
      const reader = await TimeSeriesStore.open(dir, { readOnly: true });
      const refresh = vi.spyOn(PointLog.prototype, 'refresh');
      try {
        const asked = [...names, 'none', 'v0'];
        const all = await reader.latest(asked);
        expect(refresh).toHaveBeenCalledTimes(1);
        const one: unknown[] = [];
        for (const v of asked) one.push(await reader.latest(v));
        expect(all).toEqual(one);
        expect(all[0]).toMatchObject({ variable: 'v0', value: -0, metadata: { k: 0 } });
        expect(all[299]).toMatchObject({ variable: 'v299', value: 299 });
        expect(all[300]).toBeUndefined();
        expect(await writer.latest(asked)).toEqual(all);
        await expect(reader.latest(['v1', '../x'])).rejects.toMatchObject({
          code: 'E051',
          message: expect.stringContaining('../x'),
        });
      } finally {
        refresh.mockRestore();
        await reader.close();
      }
    } finally {
      await writer.close();
    }
  });
});
