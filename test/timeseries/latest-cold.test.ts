/**
 * latest() of a fresh reader: from the manifest entry's `last` (no segment file opened), from
 * the file's last row when `last` is missing or was left out (long texts), and from buffered
 * points when they are later.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import type { Manifest } from '../../src/timeseries/manifest.ts';
import { SegmentFiles } from '../../src/timeseries/segments.ts';
import { tempDir } from '../helpers/tmp.ts';

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
    const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    expect(
      manifest.segments.find((s) => s.variable === 'long')?.last,
      'long texts are left out',
    ).toBeUndefined();

    const reader = await TimeSeriesStore.open(dir, { readOnly: true, keepDuplicates: true });
    const fileRead = vi.spyOn(SegmentFiles.prototype, 'lastPoint');
    const decoded = vi.spyOn(SegmentFiles.prototype, 'read');
    try {
      for (const v of ['a', 'dup', 'bool']) expect(await reader.latest(v), v).toEqual(expected.get(v));
      expect(fileRead, 'answered from the manifest').not.toHaveBeenCalled();
      expect(await reader.latest('long')).toEqual(expected.get('long'));
      expect(fileRead).toHaveBeenCalledTimes(1);
      expect(decoded, 'no segment decoded whole').not.toHaveBeenCalled();
    } finally {
      fileRead.mockRestore();
      decoded.mockRestore();
      await reader.close();
    }

    // A manifest from before `last` existed: the file's last row gives the same answer.
    for (const s of manifest.segments) delete s.last;
    await fsp.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
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
