/**
 * The decoder of sluice's own segment files (src/timeseries/parquet/segment-reader.ts) and the
 * window buckets computed from it in JS (segment-buckets.ts): what the writer wrote reads back
 * row for row over any row range (across row groups too); the buckets equal the in-memory path's
 * (BucketAggregator) and DuckDB's for every function; a file of another writer is left to DuckDB.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { AGGREGATE_FNS, aggregateColumns, BucketAggregator } from '../../src/timeseries/aggregate.ts';
import { T_BOOL, T_NULL, T_NUMBER, T_STRING } from '../../src/timeseries/codec.ts';
import type { Columns } from '../../src/timeseries/columns.ts';
import {
  doubleRows,
  int64Rows,
  SegmentFileReader,
  stringRows,
  uint8Rows,
} from '../../src/timeseries/parquet/segment-reader.ts';
import {
  type BucketPartial,
  readSegmentBuckets,
  segmentBucketsSql,
} from '../../src/timeseries/segment-aggregate.ts';
import { segmentBucketsJs } from '../../src/timeseries/segment-buckets.ts';
import { readSegmentColumns } from '../../src/timeseries/segment-columns.ts';
import { type RowRanges, readColumns, segmentRowsSql } from '../../src/timeseries/segment-decode.ts';
import { encodeSegmentFile, type Run } from '../../src/timeseries/segment-file-writer.ts';
import type { AggregateFn, AggregateRow } from '../../src/timeseries/types.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('ts-segment-reader');
let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
});

let n = 0;
async function write(runs: Run[], rowGroupRows?: number): Promise<{ file: string; starts: number[] }> {
  const { bytes, starts } = await encodeSegmentFile(runs, rowGroupRows);
  const file = path.join(dir, `f${++n}.parquet`);
  writeFileSync(file, bytes);
  return { file, starts };
}

type Pt = [number, number, number, string?, string?];

function cols(points: Pt[]): Columns {
  return {
    length: points.length,
    micros: Float64Array.from(points.map((p) => p[0])),
    seq: Float64Array.from(points.map((_, i) => i)),
    type: Uint8Array.from(points.map((p) => p[1])),
    num: Float64Array.from(points.map((p) => (p[1] === T_NUMBER || p[1] === T_BOOL ? p[2] : 0))),
    strs: points.map((p) => (p[1] === T_STRING ? (p[3] ?? '') : undefined)),
    metas: points.map((p) => p[4]),
  };
}

/** Rows [from, to) of a file as the reader decodes them: [micros, type, num, str, meta] each. */
async function readRows(file: string, from: number, to: number): Promise<unknown[][]> {
  const r = (await SegmentFileReader.open(file)) as SegmentFileReader;
  expect(r, 'a file of this writer').toBeDefined();
  try {
    const out: unknown[][] = [];
    for (const g of r.groupsFor(from, to)) {
      const pages = await r.pages(g, ['ts', 'type', 'value', 'str', 'meta']);
      const page = (k: string) => pages.get(k) as NonNullable<ReturnType<typeof pages.get>>;
      const a = Math.max(from, g.firstRow) - g.firstRow;
      const b = Math.min(to, g.firstRow + g.numRows) - g.firstRow;
      const ts = int64Rows(page('ts'), a, b);
      const type = uint8Rows(page('type'), a, b);
      const value = doubleRows(page('value'), a, b);
      const str = stringRows(page('str'), a, b);
      const meta = stringRows(page('meta'), a, b);
      for (let i = 0; i < b - a; i++)
        out.push([ts[i], type[i], value.present?.[i] === 0 ? null : value.num[i], str[i], meta[i]]);
    }
    return out;
  } finally {
    await r.close();
  }
}

/** What the writer was given, as readRows gives it. */
function expected(c: Columns, from: number, to: number): unknown[][] {
  const out: unknown[][] = [];
  for (let i = from; i < to; i++) {
    const t = c.type[i] as number;
    out.push([c.micros[i], t, t === T_NUMBER || t === T_BOOL ? c.num[i] : null, c.strs[i], c.metas[i]]);
  }
  return out;
}

/** All runs' columns as one (the file's rows in order). */
function concat(runs: Run[]): Columns {
  const all: Pt[] = [];
  for (const r of runs)
    for (let i = 0; i < r.cols.length; i++)
      all.push([
        r.cols.micros[i] as number,
        r.cols.type[i] as number,
        r.cols.num[i] as number,
        r.cols.strs[i],
        r.cols.metas[i],
      ]);
  return cols(all);
}

const point = fc.tuple(
  fc.constantFrom(T_NULL, T_NUMBER, T_STRING, T_BOOL, T_NUMBER, T_NUMBER),
  fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -3, max: 3 })),
  fc.oneof(fc.constant('s'), fc.string({ unit: 'grapheme', maxLength: 4 })),
  fc.option(fc.constantFrom('{"a":1}', '{"b":2}', '{}'), { nil: undefined }),
);

/** Sorted points from arbitrary ones: timestamps ascending from `t0`, steps of 0–`step` µs. */
function series(
  raw: [number, number, string, string | undefined][],
  t0: number,
  step: number,
  seed: number,
): Pt[] {
  let t = t0;
  return raw.map(([type, v, s, m], i) => {
    t += (seed + i * 7919) % (step + 1);
    return [t, type, type === T_BOOL ? (v ? 1 : 0) : v, s, m];
  });
}

describe('segment file reader', () => {
  it('reads back every kind of value, -0 and extremes included, over any row range across row groups', async () => {
    const a: Pt[] = [
      [-1_000_000, T_NUMBER, -0],
      [0, T_NUMBER, 0, undefined, '{"u":"C"}'],
      [1, T_STRING, 0, ''],
      [2, T_STRING, 0, 'é😀\u0000x'],
      [3, T_BOOL, 1],
      [4, T_BOOL, 0],
      [5, T_NULL, 0, undefined, '{"q":"bad"}'],
      [2 ** 52, T_NUMBER, Number.MAX_VALUE],
      [2 ** 52 + 1, T_NUMBER, Number.MIN_VALUE],
    ];
    const runs: Run[] = [
      { variable: 'a', cols: cols(a) },
      { variable: 'b', cols: cols([[-(2 ** 52), T_NUMBER, 1.5, undefined, '{"u":"C"}']]) },
    ];
    const all = concat(runs);
    for (const rowGroupRows of [1, 3, 4, 100]) {
      const { file } = await write(runs, rowGroupRows);
      for (let from = 0; from <= all.length; from++)
        for (let to = from; to <= all.length; to++) {
          const got = await readRows(file, from, to);
          expect(got, `rows [${from}, ${to}) in groups of ${rowGroupRows}`).toEqual(expected(all, from, to));
          got.forEach((row, i) => {
            expect(Object.is(row[2], expected(all, from, to)[i]?.[2]), 'the sign of zero').toBe(true);
          });
        }
    }
  });

  it('property: any runs read back for any row range, dictionaries and PLAIN pages, several row groups', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(point, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 50 }),
        fc.nat(),
        fc.nat(),
        async (vars, rowGroupRows, x, y) => {
          const runs = vars.map((raw, k) => ({ variable: `v${k}`, cols: cols(series(raw, k * 1000, 5, k)) }));
          const all = concat(runs);
          const { file } = await write(runs, rowGroupRows);
          const from = x % (all.length + 1);
          const to = from + (y % (all.length - from + 1));
          expect(await readRows(file, from, to)).toEqual(expected(all, from, to));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('property: rows decoded into Columns equal those DuckDB decodes, for any ranges of runs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(point, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        async (vars, rowGroupRows, pick) => {
          const runs = vars.map((raw, k) => ({ variable: `v${k}`, cols: cols(series(raw, k * 1000, 5, k)) }));
          const { file, starts } = await write(runs, rowGroupRows);
          const ranges: RowRanges = pick.some((p, k) => p && k < runs.length)
            ? runs.flatMap((r, k) =>
                pick[k] ? [[starts[k] as number, (starts[k] as number) + r.cols.length] as const] : [],
              )
            : 'all';
          const rows = ranges === 'all' ? concat(runs).length : ranges.reduce((s, [a, b]) => s + b - a, 0);
          const js = await readSegmentColumns(file, ranges, file);
          const duck = await engine.withConnection(async (c) =>
            readColumns(await c.stream(segmentRowsSql(file, ranges)), rows),
          );
          expect(js).toEqual(duck);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('leaves a file another writer wrote (DuckDB COPY) to DuckDB: open gives undefined, the buckets too', async () => {
    const { file } = await write([{ variable: 'a', cols: cols([[1, T_NUMBER, 2]]) }]);
    const copied = path.join(dir, 'duckdb-copy.parquet');
    await engine.query(
      `COPY (SELECT * FROM read_parquet(${quoteLiteral(file)})) TO ${quoteLiteral(copied)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    expect(await SegmentFileReader.open(copied)).toBeUndefined();
    expect(await readSegmentColumns(copied, 'all', 'copied')).toBeUndefined();
    expect(await segmentBucketsJs([{ file: copied, name: 'copied' }], 0, 10, 5, 'avg')).toBeUndefined();
    // One file not of this writer among others: DuckDB answers for all of them.
    expect(
      await segmentBucketsJs(
        [
          { file, name: 'ours' },
          { file: copied, name: 'copied' },
        ],
        0,
        10,
        5,
        'avg',
      ),
    ).toBeUndefined();
  });
});

/** The rows partials finish as (what the store returns). */
function finish(partials: readonly BucketPartial[], every: number, fn: AggregateFn): AggregateRow[] {
  const agg = new BucketAggregator('v', every, fn);
  agg.addPartials(partials);
  return agg.finish();
}

/**
 * Rows equal: sums and averages to a relative 1e-12, the rest exactly (the sign of zero aside for
 * DuckDB). Relative to the result or, for a sum that cancels out, to the largest `magnitude` of the
 * values summed: -5e-324 + 1 - 1 is -5e-324 with Neumaier’s compensation (sluice) and 0 with DuckDB’s sum.
 */
function expectSameRows(
  got: AggregateRow[],
  want: AggregateRow[],
  fn: AggregateFn,
  what: string,
  exact: boolean,
  magnitude = 0,
): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i] as AggregateRow;
    expect([g.bucketMicros, g.count], `${what} bucket ${i}`).toEqual([w.bucketMicros, w.count]);
    if (Object.is(g.value, w.value)) return;
    if ((fn === 'sum' || fn === 'avg') && typeof w.value === 'number' && typeof g.value === 'number') {
      const scale = Math.max(Math.abs(w.value), magnitude, Number.MIN_VALUE);
      expect(
        Math.abs(g.value - w.value) / scale,
        `${what} bucket ${i}: ${g.value} vs ${w.value}`,
      ).toBeLessThanOrEqual(1e-12);
    } else if (exact)
      expect(Object.is(g.value, w.value) || g.value === w.value, `${what} bucket ${i}`).toBe(true);
    else expect(g.value === 0 ? 0 : g.value, `${what} bucket ${i}`).toEqual(w.value === 0 ? 0 : w.value);
  });
}

/** The columns of `c` with micros in [lo, hi). */
function sliceTime(c: Columns, lo: number, hi: number): Columns {
  const pts: Pt[] = [];
  for (let i = 0; i < c.length; i++) {
    const t = c.micros[i] as number;
    if (t >= lo && t < hi) pts.push([t, c.type[i] as number, c.num[i] as number, c.strs[i], c.metas[i]]);
  }
  return cols(pts);
}

type RawPoint = [number, number, string, string | undefined];

/**
 * A variable's points (from `raw`) in one or two files among other variables' runs, bucketed by
 * every function over a time range picked by `x` and `y`: the JS reader's buckets equal the
 * in-memory path's and DuckDB's over the same files.
 */
async function checkBuckets(
  raw: RawPoint[],
  every: number,
  rowGroupRows: number,
  split: number,
  x: number,
  y: number,
): Promise<void> {
  // The variable's points in one or two files, each among other variables' runs; as a
  // window's segments, the files do not overlap in time (the second starts 1 µs later).
  const sorted = series(raw, 1_000, 6, every);
  const cut = split === 0 ? sorted.length : Math.floor(sorted.length / (split + 1));
  const pts = sorted.map((p, i) => (i < cut ? p : ([p[0] + 1, ...p.slice(1)] as Pt)));
  const whole = cols(pts);
  const parts = [pts.slice(0, cut), pts.slice(cut)].filter((p) => p.length > 0);
  const sources = [];
  for (const [k, part] of parts.entries()) {
    const other = { variable: 'other', cols: cols([[5, T_NUMBER, 1e300]]) };
    const { file, starts } = await write(
      k === 0 ? [other, { variable: 'v', cols: cols(part) }] : [{ variable: 'v', cols: cols(part) }, other],
      rowGroupRows,
    );
    const at = starts[k === 0 ? 1 : 0] as number;
    sources.push({ file, range: [at, at + part.length] as const, name: file });
  }
  const first = pts[0]?.[0] as number;
  const span = (pts.at(-1)?.[0] as number) - first + 2;
  const lo = first - 1 + (x % span);
  const hi = lo + (y % span) + 1;
  for (const fn of AGGREGATE_FNS) {
    const js = await segmentBucketsJs(sources, lo, hi, every, fn);
    expect(js, 'decoded in JS').toBeDefined();
    const mem = aggregateColumns('v', sliceTime(whole, lo, hi), every, fn);
    expectSameRows(finish(js as BucketPartial[], every, fn), mem, fn, `${fn} vs in-memory`, true);
    const sql = segmentBucketsSql(sources, lo, hi, every, fn);
    const duck = await engine.withConnection((c) => readSegmentBuckets(c, sql));
    expectSameRows(
      finish(js as BucketPartial[], every, fn),
      finish(duck, every, fn),
      fn,
      `${fn} vs DuckDB`,
      false,
      Math.max(0, ...pts.map((p) => (p[1] === T_NUMBER ? Math.abs(p[2]) : 0))),
    );
  }
}

describe('window buckets from segment files in JS', () => {
  it('property: equal the in-memory path and DuckDB for every function, runs across row groups and files', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(point, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 50 }),
        fc.nat({ max: 3 }),
        fc.nat(),
        fc.nat(),
        checkBuckets,
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it('cases the property found: a sum that cancels to a denormal, and sums that overflow (±Infinity, not NaN)', async () => {
    const [N, V] = [T_NULL, T_NUMBER];
    // Neumaier's sum keeps -5e-324 where DuckDB's gives 0: equal relative to the values summed.
    const cancels: RawPoint[] = [
      [N, 0, '', undefined],
      [N, 0, '', undefined],
      [V, -5e-324, '', undefined],
      [V, 1, '', undefined],
      [V, -1, '', undefined],
      [N, 0, '', undefined],
    ];
    await checkBuckets(cancels, 15, 1, 0, 0, 1122240587);
    // The sum overflows: its compensation is +Infinity, and -Infinity + Infinity was NaN.
    const down: RawPoint[] = [
      [V, -2.6943844178718717e293, 's', undefined],
      [V, -1.7976931348623131e308, '', undefined],
      [N, 0, 's', undefined],
    ];
    await checkBuckets(down, 5, 1, 0, 0, 1);
    const mem = aggregateColumns('v', cols(series(down, 1_000, 6, 5)), 1_000_000, 'avg');
    expect(mem.map((r) => r.value)).toEqual([Number.NEGATIVE_INFINITY]);
    // Overflowing upwards DuckDB's fsum gave NaN: its plain sum is taken then (+Infinity).
    const up: RawPoint[] = [
      [N, 0, '', undefined],
      [N, 0, '', undefined],
      [N, 0, 's', undefined],
      [N, 0, '', undefined],
      [V, 1.4968802321510399e293, '', undefined],
      [V, 1.7976931348623143e308, '', undefined],
      [V, 0, '', undefined],
    ];
    await checkBuckets(up, 11, 1, 0, 0, 959989572);
  });

  it('leaves files out of time order to DuckDB (which sorts), rather than merging buckets wrongly', async () => {
    const early = await write([{ variable: 'v', cols: cols([[10, T_NUMBER, 1]]) }]);
    const late = await write([{ variable: 'v', cols: cols([[20, T_NUMBER, 2]]) }]);
    const sources = [
      { file: late.file, name: 'late' },
      { file: early.file, name: 'early' },
    ];
    expect(await segmentBucketsJs(sources, 0, 100, 5, 'sum')).toBeUndefined();
    expect(await segmentBucketsJs(sources.toReversed(), 0, 100, 5, 'sum')).toEqual([
      { bucket: 10, count: 1, acc: 1, first: null, last: null },
      { bucket: 20, count: 1, acc: 2, first: null, last: null },
    ]);
  });

  it('skips row groups outside the window by their ts statistics, and reads a run split over many', async () => {
    const pts: Pt[] = Array.from({ length: 1000 }, (_, i) => [i * 10, T_NUMBER, i % 7] as Pt);
    const { file } = await write([{ variable: 'v', cols: cols(pts) }], 64);
    const r = (await SegmentFileReader.open(file)) as SegmentFileReader;
    try {
      expect(r.meta.rowGroups.length).toBe(16);
      // Rows 100–199 hold ts 1000–1990: groups 1–3 (rows 64–255) only.
      expect(r.groupsFor(0, 1000, 1000, 2000).map((g) => g.firstRow)).toEqual([64, 128, 192]);
    } finally {
      await r.close();
    }
    for (const fn of AGGREGATE_FNS) {
      const js = (await segmentBucketsJs([{ file, name: 'f' }], 1000, 2000, 30, fn)) as BucketPartial[];
      const mem = aggregateColumns('v', sliceTime(cols(pts), 1000, 2000), 30, fn);
      expectSameRows(finish(js, 30, fn), mem, fn, fn, true);
    }
  });
});
