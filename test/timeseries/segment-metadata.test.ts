/**
 * Segments store each row's metadata either as an index into the segment's few distinct JSON
 * texts or, past 256 distinct texts, row by row; both must read back exactly, in row order.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('segment metadata', () => {
  it('reads back every point’s metadata after compaction, with few and with many distinct texts', async () => {
    const dir = path.join(tempDir('ts-seg-meta'), 'store');
    const t0 = Date.UTC(2024, 0, 1);
    const few = Array.from({ length: 5_000 }, (_, i) => ({
      variable: 'few',
      timestamp: t0 + i * 1000,
      value: i % 9 === 0 ? `s${i}` : i,
      ...(i % 4 === 3 ? {} : { metadata: { unit: i % 2 ? 'C' : 'F', "it's": "o'clock", n: i % 3 } }),
    }));
    const many = Array.from({ length: 3_000 }, (_, i) => ({
      variable: 'many',
      timestamp: t0 + i * 1000,
      value: i,
      metadata: { id: i, note: i % 7 === 0 ? 'ünïcödé ✓' : null },
    }));
    const writer = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
    try {
      await writer.storeDataPoints([...few, ...many]);
      await writer.compact();
    } finally {
      await writer.close();
    }
    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    try {
      expect((await reader.stats()).bufferedPoints).toBe(0);
      for (const [name, input] of [
        ['few', few],
        ['many', many],
      ] as const) {
        const got = await reader.queryAll(name);
        expect(
          got.map((p) => ({ value: p.value, metadata: p.metadata })),
          name,
        ).toEqual(input.map((p) => ({ value: p.value, metadata: 'metadata' in p ? p.metadata : undefined })));
      }
    } finally {
      await reader.close();
    }
  });
});
