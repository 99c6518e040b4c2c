/**
 * Rows of a segment file's column chunks decoded straight into a caller's arrays: a merge reads
 * thousands of short ranges (segment-columns.ts), and the *Rows functions of segment-reader.ts,
 * which return arrays of their own, made each range several small typed arrays. Those were
 * garbage at once; glibc's main heap, where allocations that small go, grew by ~70 MiB at a
 * window's first merge and kept it. Here the only arrays are the scratch ones a reader reuses.
 */
import { decodeHybrid, MalformedParquetError, needBytes, type Pages, plainStrings } from './page-read.ts';
import { releaseMemory } from './release.ts';
import { doubleTable, expect, int64At, presence } from './segment-reader.ts';

/** Arrays one reader reuses from range to range, grown when a range needs more. */
export class DecodeScratch {
  levels = new Uint32Array(0);
  indices = new Uint32Array(0);
  values = new Float64Array(0);

  /** Room for a page's levels up to row `rows`. */
  levelsFor(rows: number): Uint32Array {
    if (this.levels.length < rows) this.levels = new Uint32Array(grown(rows));
    return this.levels;
  }

  indicesFor(count: number): Uint32Array {
    if (this.indices.length < count) this.indices = new Uint32Array(grown(count));
    return this.indices.subarray(0, count);
  }

  valuesFor(count: number): Float64Array {
    if (this.values.length < count) this.values = new Float64Array(grown(count));
    return this.values.subarray(0, count);
  }

  /** Frees its arrays' memory (release.ts); the next range grows new ones. */
  release(): void {
    releaseMemory(this.levels, this.indices, this.values);
    this.levels = new Uint32Array(0);
    this.indices = new Uint32Array(0);
    this.values = new Float64Array(0);
  }
}

const grown = (n: number) => Math.max(1024, 2 ** Math.ceil(Math.log2(n)));

/** Rows [a, b) of a required PLAIN INT64 chunk (µs timestamps, below 2^53) into out[at…]. */
export function int64Into(p: Pages, a: number, b: number, out: Float64Array, at: number): void {
  expect(p, 0, 'an int64 column');
  needBytes(p.data, 0, p.rows, 8);
  const d = p.data;
  for (let i = a, j = at; i < b; i++, j++) out[j] = int64At(d, i * 8);
}

/** Rows [a, b) of a required PLAIN INT32 chunk of values 0–255 (the type column) into out[at…]. */
export function uint8Into(p: Pages, a: number, b: number, out: Uint8Array, at: number): void {
  expect(p, 0, 'an int32 column');
  needBytes(p.data, 0, p.rows, 4);
  const d = p.data;
  for (let i = a, j = at; i < b; i++, j++) {
    const v = d.readInt32LE(i * 4);
    if (v < 0 || v > 255) throw new MalformedParquetError(`a UINT_8 value of ${v}`);
    out[j] = v;
  }
}

/** Rows [a, b) of an optional DOUBLE chunk into out[at…] (0 where a row has no value). */
export function doubleInto(
  p: Pages,
  a: number,
  b: number,
  out: Float64Array,
  at: number,
  scratch: DecodeScratch,
): void {
  const { present, none, first, count, valuesAt } = presence(p, a, b, scratch.levelsFor(b));
  if (none) {
    out.fill(0, at, at + b - a);
    return;
  }
  // Every row has a value: decoded straight into place.
  const values = present ? scratch.valuesFor(count) : out.subarray(at, at + count);
  if (p.encoding === 8) {
    const table = doubleTable(p);
    if (count > 0) {
      if (valuesAt >= p.data.length)
        throw new MalformedParquetError('a data page ends before its dictionary indices');
      decodeHybrid(
        p.data,
        valuesAt + 1,
        p.data.length,
        p.data[valuesAt] as number,
        count,
        values,
        first,
        table,
      );
    }
  } else {
    expect(p, 0, 'a double column');
    needBytes(p.data, valuesAt, first + count, 8);
    for (let k = 0; k < count; k++) values[k] = p.data.readDoubleLE(valuesAt + (first + k) * 8);
  }
  if (!present) return;
  for (let i = a, j = at, k = 0; i < b; i++, j++) out[j] = present[i] === 0 ? 0 : (values[k++] as number);
}

/**
 * Rows [a, b) of an optional dictionary-encoded UTF-8 chunk into out[at…] (undefined for null):
 * the dictionary's texts decoded once per page, through `intern` (one string object per text).
 */
export function stringsInto(
  p: Pages,
  a: number,
  b: number,
  out: (string | undefined)[],
  at: number,
  scratch: DecodeScratch,
  intern: (s: string) => string,
): void {
  expect(p, 8, 'a text column');
  const { present, none, first, count, valuesAt } = presence(p, a, b, scratch.levelsFor(b));
  // `out` may be sparse (Columns.strs): undefined is not written past its end.
  if (none) {
    for (let j = at, end = Math.min(at + b - a, out.length); j < end; j++) out[j] = undefined;
    return;
  }
  const dict = p.dictionary as { count: number; bytes: Buffer };
  p.texts ??= plainStrings(dict.bytes, dict.count).map(intern);
  const texts = p.texts;
  const idx = scratch.indicesFor(count);
  if (count > 0) {
    if (valuesAt >= p.data.length)
      throw new MalformedParquetError('a data page ends before its dictionary indices');
    decodeHybrid(p.data, valuesAt + 1, p.data.length, p.data[valuesAt] as number, count, idx, first);
  }
  for (let i = a, j = at, k = 0; i < b; i++, j++) {
    if (present?.[i] === 0) {
      if (j < out.length) out[j] = undefined;
      continue;
    }
    const v = idx[k++] as number;
    if (v >= dict.count)
      throw new MalformedParquetError(`dictionary index ${v} of a dictionary of ${dict.count}`);
    out[j] = texts[v];
  }
}
