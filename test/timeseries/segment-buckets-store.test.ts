/**
 * A read-only store's aggregates from its segment files: computed in JS without a DuckDB query
 * when sluice's writer wrote the files, through DuckDB when DuckDB did (stores of before #21),
 * with the writer's answers either way; a segment whose bytes cannot be right (truncated, a page
 * header or a length that does not hold) fails the query with E050 naming the file, and no file of
 * the store changes.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LazyEngine } from '../../src/engine/duckdb.ts';
import { AGGREGATE_FNS } from '../../src/timeseries/aggregate.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { Bytes, rleHybrid } from '../../src/timeseries/parquet/encodings.ts';
import { decodeHybrid } from '../../src/timeseries/parquet/page-read.ts';
import { SegmentFileReader } from '../../src/timeseries/parquet/segment-reader.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';
import { readManifestFile, toLegacyLayout } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;

/** A closed store of two one-hour windows, 5 variables of every kind of value, one file per window. */
async function build(dir: string): Promise<Record<string, unknown>> {
  const w = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0, partitionMs: HOUR });
  try {
    for (let h = 0; h < 2; h++) {
      const points = [];
      for (let i = 0; i < 3000; i++)
        for (let v = 0; v < 5; v++) {
          const k = (i * 31 + v) % 17;
          const value = k === 0 ? null : k === 1 ? 'text' : k === 2 ? i % 2 === 0 : (i % 97) / 7 - v * 1e9;
          points.push({
            variable: `v${v}`,
            timestamp: T0 + h * HOUR + i * 1000 + v,
            value,
            ...(i % 5 === 0 ? { metadata: { i } } : {}),
          });
        }
      await w.storeDataPoints(points);
      await w.compact();
    }
    const answers: Record<string, unknown> = {};
    for (const fn of AGGREGATE_FNS) answers[fn] = await w.aggregate('v3', { every: 7_000, fn });
    return answers;
  } finally {
    await w.close();
  }
}

/** Every file of the store and its SHA-256. */
async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out[path.relative(dir, p)] = createHash('sha256')
      .update(await fsp.readFile(p))
      .digest('hex');
  }
  return out;
}

async function aggregates(dir: string): Promise<{ answers: Record<string, unknown>; duckdbQueries: number }> {
  const spy = vi.spyOn(LazyEngine.prototype, 'withConnection');
  const r = await TimeSeriesStore.open(dir, { readOnly: true });
  try {
    const answers: Record<string, unknown> = {};
    for (const fn of AGGREGATE_FNS) answers[fn] = await r.aggregate('v3', { every: 7_000, fn });
    return { answers, duckdbQueries: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
    await r.close();
  }
}

describe('aggregates of a read-only store from its segment files', () => {
  it('are computed in JS, no DuckDB query, as the writer answers', async () => {
    const dir = path.join(tempDir('ts-seg-buckets'), 'store');
    const want = await build(dir);
    const { answers, duckdbQueries } = await aggregates(dir);
    expect(answers).toEqual(want);
    expect(duckdbQueries, 'no query through DuckDB').toBe(0);
  });

  it('go through DuckDB for files DuckDB wrote (a store of before #21), with the same answers', async () => {
    const dir = path.join(tempDir('ts-seg-buckets'), 'store');
    const want = await build(dir);
    await toLegacyLayout(dir, (e) => `segments/legacy/${e.variable}-${e.window}.parquet`);
    const { answers, duckdbQueries } = await aggregates(dir);
    expect(answers).toEqual(want);
    expect(duckdbQueries).toBeGreaterThan(0);
  }, 60_000);

  /** Each: what to do to the file holding v3's rows, and what the error says. */
  const corruptions: [string, (b: Buffer, ts: { start: number; dataOffset: number }) => Buffer, RegExp][] = [
    ['truncated (its footer gone)', (b) => b.subarray(0, b.length - 100), /does not end in PAR1/],
    [
      'its footer length past the file',
      (b) => {
        const c = Buffer.from(b);
        c.writeUInt32LE(b.length, b.length - 8);
        return c;
      },
      /footer length/,
    ],
    [
      'a page header of nonsense',
      (b, ts) => {
        const c = Buffer.from(b);
        c.fill(0xff, ts.dataOffset, ts.dataOffset + 12);
        return c;
      },
      /page header|page of/,
    ],
    [
      'page bytes that do not decompress',
      (b, ts) => {
        const c = Buffer.from(b);
        // Past the data page's header (a few dozen bytes) into its compressed body.
        c.fill(0x5a, ts.dataOffset + 40, ts.dataOffset + 400);
        return c;
      },
      /decompress/,
    ],
    [
      '1,000 bytes cut from the middle (every later offset off)',
      (b, ts) => Buffer.concat([b.subarray(0, ts.dataOffset - 10), b.subarray(ts.dataOffset + 990)]),
      /column .* lie outside|page|decompress/,
    ],
  ];

  for (const [what, corrupt, message] of corruptions)
    it(`fail with E050 naming the segment when ${what}, changing no file`, async () => {
      const dir = path.join(tempDir('ts-seg-buckets'), 'store');
      await build(dir);
      const entry = (await readManifestFile(dir)).segments.find((e) => e.variable === 'v3') as {
        key: string;
      };
      const file = path.join(dir, entry.key);
      const r = (await SegmentFileReader.open(file)) as SegmentFileReader;
      const ts = r.meta.rowGroups[0]?.columns.get('ts') as { start: number; dataOffset: number };
      await r.close();
      await fsp.writeFile(file, corrupt(await fsp.readFile(file), ts));
      const before = await hashes(dir);
      const reader = await TimeSeriesStore.open(dir, { readOnly: true });
      try {
        const failed = reader.aggregate('v3', { every: 7_000, fn: 'avg' });
        await expect(failed).rejects.toMatchObject({ code: 'E050' });
        await expect(failed).rejects.toThrow(entry.key);
        await expect(failed).rejects.toThrow(message);
        // Its rows decoded for a query (segment-columns.ts): the same error.
        const rows = reader.queryAll('v3');
        await expect(rows).rejects.toMatchObject({ code: 'E050' });
        await expect(rows).rejects.toThrow(entry.key);
      } finally {
        await reader.close();
      }
      expect(await hashes(dir)).toEqual(before);
    });
});

describe('RLE / bit-packed hybrid decoder', () => {
  it('property: decodes what the encoder writes at any width, from any value on', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }),
        fc.array(fc.nat(), { maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        fc.nat(),
        fc.nat(),
        (width, raw, repeats, x, y) => {
          const max = 2 ** width;
          // Runs of repeats (RLE) among scattered values (bit-packed).
          const values: number[] = [];
          raw.forEach((v, i) => {
            for (let k = 0; k < (repeats[i] ?? 1); k++) values.push(v % max);
          });
          const out = new Bytes();
          rleHybrid(Uint32Array.from(values), 0, values.length, width, out);
          const buf = Buffer.from(out.done());
          const skip = x % (values.length + 1);
          const count = y % (values.length - skip + 1);
          const got = new Uint32Array(count);
          decodeHybrid(buf, 0, buf.length, width, count, got, skip);
          expect([...got]).toEqual(values.slice(skip, skip + count));
          // Decoded through a table (dictionary values): its entries; an index past it refused.
          // Indices below 4,096 (a table of each value would not fit), at the same width.
          const small = values.map((v) => v % 4096);
          const enc = new Bytes();
          rleHybrid(Uint32Array.from(small), 0, small.length, width, enc);
          const sbuf = Buffer.from(enc.done());
          const wanted = small.slice(skip, skip + count);
          const table = Float64Array.from({ length: 4096 }, (_, i) => i / 2);
          const via = new Float64Array(count);
          decodeHybrid(sbuf, 0, sbuf.length, width, count, via, skip, table);
          expect([...via]).toEqual(wanted.map((v) => v / 2));
          const top = Math.max(0, ...wanted);
          if (top > 0)
            expect(() =>
              decodeHybrid(sbuf, 0, sbuf.length, width, count, via, skip, table.subarray(0, top)),
            ).toThrow(/dictionary index/);
          // Asked for more than there are: refused, never read past the end.
          expect(() =>
            decodeHybrid(buf, 0, buf.length, width, values.length + 9, new Uint32Array(values.length + 9)),
          ).toThrow(/end|run past/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
