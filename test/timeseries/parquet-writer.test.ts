/**
 * The Parquet encoder segment files are written with (src/timeseries/parquet/), checked against
 * DuckDB as the reader: every kind of value, run lengths around the RLE threshold, dictionaries
 * past their limit, several row groups, and statistics a reader may skip row groups by (UTF-8
 * byte order, not JavaScript's UTF-16 order).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { T_BOOL, T_NULL, T_NUMBER, T_STRING } from '../../src/timeseries/codec.ts';
import type { Columns } from '../../src/timeseries/columns.ts';
import { Bytes, rleHybrid } from '../../src/timeseries/parquet/encodings.ts';
import { keyValueOf, readFooter } from '../../src/timeseries/parquet/footer.ts';
import { readColumns } from '../../src/timeseries/segment-decode.ts';
import { encodeSegmentFile, type Run } from '../../src/timeseries/segment-file-writer.ts';
import { decodeLastRows, LAST_ROWS_KEY } from '../../src/timeseries/segment-last-rows.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('ts-parquet');
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

async function readBack(file: string, rows: number): Promise<Columns> {
  return engine.withConnection(async (c) =>
    readColumns(
      await c.stream(
        `SELECT epoch_us(ts)::DOUBLE, type, value, str, meta FROM read_parquet(${quoteLiteral(file)})`,
      ),
      rows,
    ),
  );
}

/** A run of `variable` from points [micros, type, num, str?, meta?]. */
function run(variable: string, points: [number, number, number, string?, string?][]): Run {
  return {
    variable,
    cols: {
      length: points.length,
      micros: Float64Array.from(points.map((p) => p[0])),
      seq: Float64Array.from(points.map((_, i) => i)),
      type: Uint8Array.from(points.map((p) => p[1])),
      num: Float64Array.from(points.map((p) => p[2])),
      strs: points.map((p) => p[3]),
      metas: points.map((p) => p[4]),
    },
  };
}

/** What a run's rows read back as: [micros, type, num (numbers and booleans), str, meta]. */
function expectRows(got: Columns, from: number, want: Run): void {
  const c = want.cols;
  for (let i = 0; i < c.length; i++) {
    const t = c.type[i] as number;
    const row = [
      got.micros[from + i],
      got.type[from + i],
      got.num[from + i],
      got.strs[from + i],
      got.metas[from + i],
    ];
    const num = t === T_NUMBER || t === T_BOOL ? c.num[i] : 0;
    expect(row, `${want.variable} row ${i}`).toEqual([
      c.micros[i],
      t,
      num,
      t === T_STRING ? c.strs[i] : undefined,
      c.metas[i],
    ]);
    if (t === T_NUMBER) expect(Object.is(got.num[from + i], c.num[i]), `sign of ${c.num[i]}`).toBe(true);
  }
}

describe('segment file encoder', () => {
  it('writes every kind of value and metadata, runs of many variables, as DuckDB reads them', async () => {
    const runs = [
      run('a', [
        [-1_000_000, T_NUMBER, -0],
        [0, T_NUMBER, 0, undefined, '{"u":"C"}'],
        [1, T_STRING, 0, ''],
        [2, T_STRING, 0, 'é😀\u0000x'],
        [3, T_BOOL, 1],
        [4, T_BOOL, 0],
        [5, T_NULL, 0, undefined, '{"q":"bad"}'],
        [2 ** 52, T_NUMBER, Number.MAX_VALUE],
        [2 ** 52 + 1, T_NUMBER, Number.MIN_VALUE],
      ]),
      run('b😀', [[-(2 ** 52), T_NUMBER, 1.5, undefined, '{"u":"C"}']]),
      run('c', [[7, T_STRING, 0, 'x'.repeat(100_000)]]),
    ];
    const { file, starts } = await write(runs);
    expect(starts).toEqual([0, 9, 10]);
    const got = await readBack(file, 11);
    runs.forEach((r, k) => {
      expectRows(got, starts[k] as number, r);
    });
    const names = await engine.query<{ variable: string }>(
      `SELECT variable FROM read_parquet(${quoteLiteral(file)})`,
    );
    expect(names.map((r) => r.variable)).toEqual([...Array(9).fill('a'), 'b😀', 'c']);
  });

  it('property: any values round-trip, over several row groups and past the dictionaries’ limits', async () => {
    const point = fc.tuple(
      fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
      fc.constantFrom(T_NULL, T_NUMBER, T_STRING, T_BOOL),
      fc.oneof(fc.double({ noNaN: true }), fc.integer({ min: 0, max: 3 })),
      fc.oneof(fc.constant('s'), fc.string({ unit: 'grapheme', maxLength: 4 })),
      fc.option(fc.constantFrom('{"a":1}', '{"b":2}', '{}'), { nil: undefined }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(point, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 5 }),
        // Row groups smaller than runs and larger: each is filled from the runs it spans.
        fc.integer({ min: 1, max: 64 }),
        async (vars, rowGroupRows) => {
          const runs = vars.map((pts, k) =>
            run(
              `v${k}`,
              pts.map(
                ([t, type, v, s, m]) =>
                  [t, type, type === T_BOOL ? (v ? 1 : 0) : v, s, m] as [
                    number,
                    number,
                    number,
                    string,
                    string,
                  ],
              ),
            ),
          );
          const { file, starts } = await write(runs, rowGroupRows);
          const total = runs.reduce((s, r) => s + r.cols.length, 0);
          const got = await readBack(file, total);
          runs.forEach((r, k) => {
            expectRows(got, starts[k] as number, r);
          });
          // Each run's last point, as the footer keeps it for latest() (segment-last-rows.ts).
          const last = decodeLastRows(keyValueOf(await readFooter(file), LAST_ROWS_KEY) as Buffer);
          runs.forEach((r, k) => {
            const i = r.cols.length - 1;
            const type = r.cols.type[i] as number;
            const meta = r.cols.metas[i];
            expect(last.get((starts[k] as number) + i)).toEqual({
              type,
              num: type === T_NUMBER || type === T_BOOL ? r.cols.num[i] : 0,
              ...(type === T_STRING ? { str: r.cols.strs[i] } : {}),
              ...(meta === undefined ? {} : { meta }),
            });
          });
        },
      ),
      { numRuns: 60 },
    );
    // 300,000 rows: three row groups; 100,000 distinct doubles (past the dictionary: PLAIN) and
    // long stretches of one value (RLE) beside short ones (bit-packed), metadata ids up to 2^17.
    const big = 300_000;
    const points: [number, number, number, string?, string?][] = [];
    for (let i = 0; i < big; i++)
      points.push([
        i,
        T_NUMBER,
        i < 100_000 ? i / 7 : i % 13 < 9 ? 1 : i % 5,
        undefined,
        `{"m":${i % 131_072}}`,
      ]);
    const runs = [run('one', points.slice(0, 150_000)), run('two', points.slice(150_000))];
    const { file } = await write(runs);
    const got = await readBack(file, big);
    runs.forEach((r, k) => {
      expectRows(got, k * 150_000, r);
    });
    const groups = await engine.query<{ n: bigint }>(
      `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata(${quoteLiteral(file)})`,
    );
    expect(Number(groups[0]?.n)).toBe(3);
  }, 120_000);

  it('keeps min/max statistics in UTF-8 byte order, so a reader skipping row groups by them loses no rows', async () => {
    // JavaScript sorts U+FFFF after 😀 (a surrogate pair); UTF-8 byte order puts 😀 last.
    const names = ['a', '\uFFFF', '😀'];
    const runs = names.map((v) =>
      run(
        v,
        Array.from({ length: 100_000 }, (_, i) => [i, T_NUMBER, i] as [number, number, number]),
      ),
    );
    const { file } = await write(runs);
    const stats = await engine.query<{ min: string; max: string }>(
      `SELECT stats_min_value AS min, stats_max_value AS max FROM parquet_metadata(${quoteLiteral(file)}) WHERE path_in_schema = 'variable' ORDER BY row_group_id`,
    );
    expect(stats).toEqual([
      { min: 'a', max: '\uFFFF' },
      { min: '\uFFFF', max: '😀' },
      { min: '😀', max: '😀' },
    ]);
    for (const v of names) {
      const rows = await engine.query<{ n: bigint }>(
        `SELECT count(*) AS n FROM read_parquet(${quoteLiteral(file)}) WHERE variable = ${quoteLiteral(v)}`,
      );
      expect(Number(rows[0]?.n), v).toBe(100_000);
    }
  });

  it('RLE / bit-packed hybrid: runs around the threshold and every bit width decode to the values', async () => {
    // Decoded by a reference decoder written from the format's description.
    const decode = (buf: Buffer, width: number, count: number): number[] => {
      const out: number[] = [];
      let p = 0;
      const varint = () => {
        let v = 0;
        for (let shift = 1; ; shift *= 128) {
          const b = buf[p++] as number;
          v += (b & 0x7f) * shift;
          if (b < 0x80) return v;
        }
      };
      while (out.length < count) {
        const h = varint();
        if (h % 2 === 0) {
          let v = 0;
          for (let b = 0; b < Math.ceil(width / 8); b++) v += (buf[p++] as number) * 256 ** b;
          for (let k = 0; k < h / 2; k++) out.push(v);
        } else {
          const bits = ((h - 1) / 2) * 8 * width;
          for (let k = 0; k < bits / width; k++) {
            let v = 0;
            for (let b = 0; b < width; b++) {
              const bit = k * width + b;
              if (((buf[p + (bit >> 3)] as number) >> (bit & 7)) & 1) v += 2 ** b;
            }
            out.push(v);
          }
          p += bits / 8;
        }
      }
      return out.slice(0, count);
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20 })), { maxLength: 30 }),
        (width, runs) => {
          const values: number[] = [];
          for (const [v, len] of runs) for (let k = 0; k < len; k++) values.push(v % 2 ** width);
          const out = new Bytes();
          rleHybrid(Uint32Array.from(values), 0, values.length, width, out);
          expect(decode(out.done(), width, values.length)).toEqual(values);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
