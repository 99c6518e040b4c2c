/**
 * SegmentRows (segment-columns.ts) reads a segment file's runs for merges: short ranges read in
 * row order have their row group decoded once and copied out; ranges read out of order, or long
 * ones, are decoded one by one. Every order reads back the rows written, whether a text column
 * holds values on some rows, on none (one run of null levels) or on all.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { T_NUMBER, T_STRING } from '../../src/timeseries/codec.ts';
import type { Columns } from '../../src/timeseries/columns.ts';
import type { Pages } from '../../src/timeseries/parquet/page-read.ts';
import { DecodeScratch, doubleInto, stringsInto } from '../../src/timeseries/parquet/rows-into.ts';
import { SegmentRows } from '../../src/timeseries/segment-columns.ts';
import { encodeSegmentFile, type Run } from '../../src/timeseries/segment-file-writer.ts';
import { tempDir } from '../helpers/tmp.ts';

type Shape = 'mixed' | 'numbers' | 'texts';

/** Run `k` of `n` rows: numbers, texts or both; metadata on every other row. */
function run(k: number, n: number, shape: Shape): Run {
  const text = (i: number) => shape === 'texts' || (shape === 'mixed' && (i + k) % 3 === 0);
  const cols: Columns = {
    length: n,
    micros: Float64Array.from({ length: n }, (_, i) => 1_000_000 * k + i * 10),
    seq: Float64Array.from({ length: n }, (_, i) => i),
    type: Uint8Array.from({ length: n }, (_, i) => (text(i) ? T_STRING : T_NUMBER)),
    num: Float64Array.from({ length: n }, (_, i) => (text(i) ? 0 : k * 1000 + i / 4)),
    strs: Array.from({ length: n }, (_, i) => (text(i) ? `t${(i + k) % 13}` : undefined)),
    metas: Array.from({ length: n }, (_, i) => (i % 2 === 0 ? `{"k":${k % 7}}` : undefined)),
  };
  return { variable: `v${String(k).padStart(4, '0')}`, cols };
}

/** A file of `count` runs of `n` rows in row groups of `groupRows`, opened for reading. */
async function fileOf(count: number, n: number, shape: Shape, groupRows: number) {
  const runs = Array.from({ length: count }, (_, k) => run(k, n, shape));
  const { bytes, starts } = await encodeSegmentFile(runs, groupRows);
  const file = path.join(tempDir('ts-segment-rows'), 'f.parquet');
  writeFileSync(file, bytes);
  const rows = (await SegmentRows.open(file, 'test/f.parquet')) as SegmentRows;
  return { runs, starts, rows };
}

/** Run `k` as read: what a merge copies out of the file. */
async function readRun(rows: SegmentRows, starts: number[], runs: Run[], k: number) {
  const r = runs[k] as Run;
  const c = await rows.read([[starts[k] as number, (starts[k] as number) + r.cols.length]]);
  return {
    micros: [...c.micros],
    type: [...c.type],
    num: [...c.num],
    strs: Array.from({ length: c.length }, (_, i) => c.strs[i]),
    metas: Array.from({ length: c.length }, (_, i) => c.metas[i]),
  };
}

const written = (r: Run) => ({
  micros: [...r.cols.micros],
  type: [...r.cols.type],
  num: [...r.cols.num],
  strs: Array.from({ length: r.cols.length }, (_, i) => r.cols.strs[i]),
  metas: [...r.cols.metas],
});

const ORDERS: Record<string, (n: number) => number[]> = {
  'in row order': (n) => Array.from({ length: n }, (_, i) => i),
  backwards: (n) => Array.from({ length: n }, (_, i) => n - 1 - i),
  'jumping between groups': (n) => Array.from({ length: n }, (_, i) => (i * 37) % n),
};

describe('segment rows read run by run', () => {
  for (const shape of ['mixed', 'numbers', 'texts'] as const)
    for (const [order, of] of Object.entries(ORDERS))
      it(`read back as written: short runs of ${shape}, ${order}`, async () => {
        // 300 runs of 7 rows in groups of 500: ~71 runs a group, each far below a thirty-second of it.
        const { runs, starts, rows } = await fileOf(300, 7, shape, 500);
        try {
          for (const k of of(runs.length))
            expect(await readRun(rows, starts, runs, k), `run ${k}`).toEqual(written(runs[k] as Run));
        } finally {
          await rows.close();
        }
      });

  it('read back as written: long runs (decoded range by range) across row groups', async () => {
    const { runs, starts, rows } = await fileOf(9, 333, 'mixed', 500);
    try {
      for (const k of [0, 1, 2, 3, 4, 5, 6, 7, 8, 4, 0])
        expect(await readRun(rows, starts, runs, k), `run ${k}`).toEqual(written(runs[k] as Run));
    } finally {
      await rows.close();
    }
  });

  it('refuses rows past the end of the file, naming it', async () => {
    const { rows } = await fileOf(3, 5, 'mixed', 500);
    try {
      await expect(rows.read([[10, 16]])).rejects.toThrow(
        /Time-series segment test\/f\.parquet cannot be read: it has 15 rows where rows up to 16 are asked for/,
      );
    } finally {
      await rows.close();
    }
  });
});

/** A dictionary page of `texts` (PLAIN byte arrays) and a data page of 4 rows, all present, each index `index`. */
function textPages(texts: string[], index: number): Pages {
  const dict = Buffer.concat(
    texts.map((t) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(Buffer.byteLength(t));
      return Buffer.concat([len, Buffer.from(t)]);
    }),
  );
  // Levels: 2 bytes (an RLE run of four 1s); then bit width 2 and an RLE run of four `index`.
  const data = Buffer.from([2, 0, 0, 0, 0x08, 0x01, 2, 0x08, index]);
  return { dictionary: { count: texts.length, bytes: dict }, data, rows: 4, encoding: 8 };
}

describe('decoding into place', () => {
  it('reads dictionary texts into the rows asked for, interned once per page', () => {
    const out: (string | undefined)[] = ['x', 'x', 'x', 'x', 'x'];
    const seen: string[] = [];
    stringsInto(textPages(['a', 'b'], 1), 1, 3, out, 2, new DecodeScratch(), (t) => {
      seen.push(t);
      return t;
    });
    expect(out).toEqual(['x', 'x', 'b', 'b', 'x']);
    expect(seen).toEqual(['a', 'b']);
  });

  it('refuses a dictionary index past the dictionary, and a text page read as numbers', () => {
    const out: (string | undefined)[] = [];
    expect(() => stringsInto(textPages(['a', 'b'], 3), 0, 4, out, 0, new DecodeScratch(), (t) => t)).toThrow(
      /dictionary index 3 of a dictionary of 2/,
    );
    expect(() =>
      doubleInto({ ...textPages(['a'], 0), encoding: 0 }, 0, 4, new Float64Array(4), 0, new DecodeScratch()),
    ).toThrow(/bytes|values/);
  });
});
