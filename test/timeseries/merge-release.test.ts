/**
 * Memory a compaction is done with is freed at once (parquet/release.ts), never memory something
 * still reads: a merge's decoded runs once written (a merge's runs are not cached), a
 * compressed page once copied into the file, a page's bytes once decoded. Each test proves the
 * release happened (the buffer is detached) and that every point reads back as stored.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { T_NUMBER } from '../../src/timeseries/codec.ts';
import type { Columns } from '../../src/timeseries/columns.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { MergeInputs } from '../../src/timeseries/merge-inputs.ts';
import { releaseMemory } from '../../src/timeseries/parquet/release.ts';
import { readSegmentColumns } from '../../src/timeseries/segment-columns.ts';
import { encodeSegmentFile } from '../../src/timeseries/segment-file-writer.ts';
import { tempDir } from '../helpers/tmp.ts';

const T0 = Date.UTC(2024, 0, 1);
const VARS = ['a', 'b', 'c', 'd', 'e', 'f'];
/** Rows of a variable per compaction: a merged run of eight is 64,000 rows, 512 KB a typed column. */
const PER = 8_000;

/** Whether a typed array's memory was released (its buffer detached). */
const freed = (a: ArrayBufferView) => (a.buffer as ArrayBuffer).detached;

const points = (round: number) =>
  VARS.flatMap((variable, k) =>
    Array.from({ length: PER }, (_, i) => ({
      variable,
      timestamp: T0 + (round * PER + i) * 10,
      value: round * 1e6 + i + k / 10,
      metadata: { round, k, odd: i % 2 === 1 },
    })),
  );

afterEach(() => {
  vi.restoreAllMocks();
});

describe('memory a compaction is done with', () => {
  it('a merge frees each decoded run once written, and every point reads back from the merged file', async () => {
    const dir = path.join(tempDir('ts-merge-release'), 'store');
    const options = { compactIntervalMs: 0, compactPoints: 0 };
    let store = await TimeSeriesStore.open(dir, options);
    for (let round = 0; round < 8; round++) {
      await store.storeDataPoints(points(round));
      await store.compact();
    }
    await store.close();
    // Reopened: the merge reads every run from the files (nothing cached).
    store = await TimeSeriesStore.open(dir, options);
    const loaded: Columns[] = [];
    const readRun = MergeInputs.prototype.readRun;
    vi.spyOn(MergeInputs.prototype, 'readRun').mockImplementation(async function (this: MergeInputs, p, a) {
      const c = await readRun.call(this, p, a);
      loaded.push(c);
      return c;
    });
    const recycled: Columns[] = [];
    const recycle = MergeInputs.prototype.recycle;
    vi.spyOn(MergeInputs.prototype, 'recycle').mockImplementation(function (this: MergeInputs, c) {
      recycled.push(c);
      recycle.call(this, c);
    });
    try {
      await store.storeDataPoints(points(8));
      const r = await store.compact();
      expect(r.pointsRewritten).toBe(8 * PER * VARS.length);
      // Every run read was freed once written, its memory gone: a merge's runs are not cached.
      expect(loaded).toHaveLength(VARS.length);
      expect(recycled).toEqual(loaded);
      expect(loaded.every((c) => freed(c.micros) && freed(c.num))).toBe(true);
      // What the writer reads back and what a fresh reader decodes from the files are the
      // points stored, all of them.
      for (const [k, v] of VARS.entries()) {
        const got = await store.queryAll(v);
        expect(got, v).toHaveLength(9 * PER);
        got.forEach((p, j) => {
          const round = Math.floor(j / PER);
          expect(p.value).toBe(round * 1e6 + (j % PER) + k / 10);
          expect(p.metadata).toEqual({ round, k, odd: j % 2 === 1 });
        });
      }
    } finally {
      await store.close();
    }
    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    try {
      for (const v of VARS) {
        const got = await reader.queryAll(v);
        expect(got).toHaveLength(9 * PER);
        expect(got.at(-1)).toEqual(await reader.latest(v));
      }
    } finally {
      await reader.close();
    }
  });

  it('pages far larger than a release threshold round-trip: a compressed page is copied before its memory is freed', async () => {
    // 300,000 distinct doubles: the value page is PLAIN and barely compresses (2.4 MB).
    const n = 300_000;
    const cols: Columns = {
      length: n,
      micros: Float64Array.from({ length: n }, (_, i) => 1e15 + i),
      seq: Float64Array.from({ length: n }, (_, i) => i),
      type: new Uint8Array(n).fill(T_NUMBER),
      num: Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e9),
      strs: [],
      metas: Array.from({ length: n }, (_, i) => (i % 1000 === 0 ? `{"i":${i}}` : undefined)),
    };
    const { bytes } = await encodeSegmentFile([{ variable: 'x', cols }], 131_072);
    expect(bytes.length).toBeGreaterThan(2_000_000);
    const file = path.join(tempDir('ts-big-pages'), 'x.parquet');
    writeFileSync(file, bytes);
    const back = (await readSegmentColumns(file, 'all', file)) as Columns;
    expect(back.length).toBe(n);
    expect(Array.from(back.num)).toEqual(Array.from(cols.num));
    expect(Array.from(back.micros)).toEqual(Array.from(cols.micros));
    expect(back.metas.filter((m) => m !== undefined)).toHaveLength(300);
  });

  it('releaseMemory frees a buffer of its own and never a slice of the shared pool', () => {
    const own = Buffer.allocUnsafe(1 << 20);
    const pooled = Buffer.from('still here');
    const small = new Float64Array(16);
    releaseMemory(own, pooled, small, undefined);
    expect(freed(own)).toBe(true);
    expect(own.length).toBe(0);
    expect(pooled.toString()).toBe('still here');
    expect(freed(small)).toBe(false);
  });
});
