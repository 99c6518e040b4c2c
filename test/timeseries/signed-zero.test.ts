import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const sign = (v: unknown) => (Object.is(v, -0) ? '-0' : String(v));

describe('time-series values keep the sign of zero', () => {
  it('0 and -0 in one segment read back as written (DuckDB’s Parquet dictionary would merge them)', async () => {
    const dir = path.join(tempDir('ts-zero'), 'store');
    // Enough repeats that DuckDB picks a dictionary for the value column.
    const values = [...Array.from({ length: 1990 }, () => 7), -0, 0, 0, -0, 0, -0, -0, 0, false, 0];
    const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
    await store.storeDataPoints(
      values.map((value, i) => ({ variable: 'v', timestamp: 1_700_000_000_000 + i, value })),
    );
    const read = async (s: TimeSeriesStore) => {
      const out: string[] = [];
      for await (const p of s.query('v')) out.push(sign(p.value));
      return out.slice(1990);
    };
    const expected = values.slice(1990).map(sign);
    expect(await read(store)).toEqual(expected); // from the log
    await store.compact();
    expect(await read(store)).toEqual(expected); // from the segment just written (cached)
    await store.close();
    const reopened = await TimeSeriesStore.open(dir, { readOnly: true });
    try {
      expect(await read(reopened)).toEqual(expected); // from the Parquet file
    } finally {
      await reopened.close();
    }
  });
});
