/**
 * latest() of a fresh reader: the run's last row for the first variable of a file, then the last
 * rows of all the file's runs in one read for the rest (no segment decoded whole); a store of the
 * earlier layout without `last` in its manifest reads each file's last row; buffered points win
 * when they are later. (The earlier layout's manifest `last` is read in legacy-layout.test.ts.)
 */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { SegmentFiles } from '../../src/timeseries/segments.ts';
import { tempDir } from '../helpers/tmp.ts';
import { toLegacyLayout } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1);

describe('latest() of a fresh reader', () => {
  it('answers from the manifest, or the file’s last row, exactly as the writer does', async () => {
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
    const batch = vi.spyOn(proto, 'readLastRows');
    const rowReads = vi.spyOn(proto, 'readFile');
    const decoded = vi.spyOn(SegmentFiles.prototype, 'read');
    try {
      expect(await reader.latest('a')).toEqual(expected.get('a'));
      expect(rowReads, 'one row read for the first').toHaveBeenCalledTimes(1);
      expect(batch).not.toHaveBeenCalled();
      for (const v of ['dup', 'bool', 'long']) expect(await reader.latest(v), v).toEqual(expected.get(v));
      expect(batch, 'then the last rows of every run of the file, once').toHaveBeenCalledTimes(1);
      expect(rowReads).toHaveBeenCalledTimes(1);
      expect(decoded, 'no segment decoded whole').not.toHaveBeenCalled();
    } finally {
      batch.mockRestore();
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
});
