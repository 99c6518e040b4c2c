/**
 * Reads segment files this package's writer wrote (segment-file-writer.ts) without DuckDB: the
 * footer, then per row group only the byte range of the columns asked for, decoded for a range of
 * rows. `open` returns undefined for any other file (DuckDB COPY wrote older segments, with other
 * encodings, codecs and page layouts): the caller reads those through DuckDB. A file of ours
 * whose bytes cannot be right throws MalformedParquetError (or BadFooterError for its footer).
 */
import * as fsp from 'node:fs/promises';
import zlib from 'node:zlib';
import { type ChunkMeta, type FileMeta, parseFileMeta, type RowGroupMeta } from './file-meta.ts';
import { footerOf } from './footer.ts';
import {
  definitionLevels,
  dictionaryIndices,
  dictionaryValues,
  MalformedParquetError,
  needBytes,
  type Pages,
  plainStrings,
  readPages,
  UnsupportedParquetError,
} from './page-read.ts';
import { releaseMemory } from './release.ts';
import { CREATED_BY, Physical } from './writer.ts';

/** The segment schema (segment-file-writer.ts): name, physical type, optional. */
const SCHEMA: readonly (readonly [string, number, boolean])[] = [
  ['variable', Physical.BYTE_ARRAY, false],
  ['ts', Physical.INT64, false],
  ['type', Physical.INT32, false],
  ['value', Physical.DOUBLE, true],
  ['str', Physical.BYTE_ARRAY, true],
  ['meta', Physical.BYTE_ARRAY, true],
];

const hasZstd = typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function';

function codecKnown(codec: number): boolean {
  return codec === 0 || codec === 2 || (codec === 6 && hasZstd);
}

/** Checks what the footer says against the file: every chunk within the pages, counts adding up. */
function check(meta: FileMeta, pagesEnd: number): void {
  let rows = 0;
  for (const g of meta.rowGroups) {
    if (g.numRows < 0) throw new MalformedParquetError(`a row group states ${g.numRows} rows`);
    rows += g.numRows;
    for (const [name] of SCHEMA) {
      const c = g.columns.get(name);
      if (!c) throw new MalformedParquetError(`a row group lacks column ${name}`);
      if (c.numValues !== g.numRows)
        throw new MalformedParquetError(
          `column ${name} holds ${c.numValues} values in a row group of ${g.numRows}`,
        );
      if (c.start < 4 || c.compressedSize < 0 || c.start + c.compressedSize > pagesEnd)
        throw new MalformedParquetError(
          `column ${name}'s pages [${c.start}, ${c.start + c.compressedSize}) lie outside the file's pages [4, ${pagesEnd})`,
        );
      if (c.dataOffset < c.start || c.dataOffset >= c.start + c.compressedSize)
        throw new MalformedParquetError(
          `column ${name}'s data page offset ${c.dataOffset} lies outside its chunk`,
        );
    }
  }
  if (rows !== meta.numRows)
    throw new MalformedParquetError(`row groups of ${rows} rows in a file that states ${meta.numRows}`);
}

/** Whether the file is one of this writer's, in the layout this reader decodes. */
function recognised(meta: FileMeta): boolean {
  if (meta.createdBy !== CREATED_BY || meta.leaves.length !== SCHEMA.length) return false;
  const schemaOk = SCHEMA.every(([name, type, optional], i) => {
    const l = meta.leaves[i];
    return l?.name === name && l.type === type && l.optional === optional;
  });
  return schemaOk && meta.rowGroups.every((g) => [...g.columns.values()].every((c) => codecKnown(c.codec)));
}

export class SegmentFileReader {
  readonly meta: FileMeta;
  private readonly fh: fsp.FileHandle;

  private constructor(fh: fsp.FileHandle, meta: FileMeta) {
    this.fh = fh;
    this.meta = meta;
  }

  /** The reader of `file`, or undefined for a file this reader does not decode (read it with DuckDB). */
  static async open(file: string): Promise<SegmentFileReader | undefined> {
    const fh = await fsp.open(file, 'r');
    try {
      const { footer, at } = await footerOf(fh);
      const meta = parseFileMeta(footer);
      if (!recognised(meta)) {
        await fh.close();
        return undefined;
      }
      check(meta, at);
      return new SegmentFileReader(fh, meta);
    } catch (error) {
      await fh.close();
      throw error;
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  /** The row groups holding any of rows [from, to) (and, given, any ts in [lo, hi) µs by their statistics). */
  groupsFor(
    from: number,
    to: number,
    lo = Number.NEGATIVE_INFINITY,
    hi = Number.POSITIVE_INFINITY,
  ): RowGroupMeta[] {
    return this.meta.rowGroups.filter((g) => {
      if (g.firstRow >= to || g.firstRow + g.numRows <= from || g.numRows === 0) return false;
      const ts = g.columns.get('ts') as ChunkMeta;
      if (ts.min?.length === 8 && int64At(ts.min, 0) >= hi) return false;
      if (ts.max?.length === 8 && int64At(ts.max, 0) < lo) return false;
      return true;
    });
  }

  /** The pages of `names` in row group `g`: one read of the byte range they lie in. */
  async pages(g: RowGroupMeta, names: readonly string[]): Promise<Map<string, Pages>> {
    const chunks = names.map((n) => g.columns.get(n) as ChunkMeta);
    const start = Math.min(...chunks.map((c) => c.start));
    const end = Math.max(...chunks.map((c) => c.start + c.compressedSize));
    const buf = Buffer.allocUnsafe(end - start);
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, start);
    if (bytesRead !== buf.length)
      throw new MalformedParquetError(`the file ends inside row group at row ${g.firstRow}`);
    const out = new Map<string, Pages>();
    names.forEach((n, i) => {
      out.set(n, readPages(buf, start, chunks[i] as ChunkMeta));
    });
    // Compressed pages were decompressed into memory of their own: the bytes read are done with.
    if (chunks.every((c) => c.codec !== 0)) releaseMemory(buf);
    return out;
  }
}

/** A little-endian int64 at `at` as a number (exact below 2^53 in magnitude: µs timestamps are). */
export function int64At(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readInt32LE(at + 4) * 4294967296;
}

export function expect(p: Pages, encoding: number, what: string): void {
  if (p.encoding !== encoding) throw new UnsupportedParquetError(`${what} in encoding ${p.encoding}`);
}

/** Bytes [from, from + n) of `b` copied into memory of their own (aligned for typed-array views). */
function aligned(b: Buffer, from: number, n: number): ArrayBuffer {
  const out = new Uint8Array(n);
  out.set(b.subarray(from, from + n));
  return out.buffer;
}

/**
 * Rows [a, b) of a required PLAIN INT64 chunk as 32-bit words, low then high (signed) of each:
 * `words[2i] + (words[2i + 1] | 0) * 2^32` is row a + i (a µs timestamp, below 2^53).
 */
export function int64Words(p: Pages, a: number, b: number): Uint32Array {
  expect(p, 0, 'an int64 column');
  needBytes(p.data, 0, p.rows, 8);
  return new Uint32Array(aligned(p.data, a * 8, (b - a) * 8));
}

/** Rows [a, b) of a required PLAIN INT32 chunk. */
export function int32Rows(p: Pages, a: number, b: number): Int32Array {
  expect(p, 0, 'an int32 column');
  needBytes(p.data, 0, p.rows, 4);
  return new Int32Array(aligned(p.data, a * 4, (b - a) * 4));
}

/** Rows [a, b) of a required PLAIN INT64 chunk (µs timestamps) as numbers. */
export function int64Rows(p: Pages, a: number, b: number): Float64Array {
  const words = int64Words(p, a, b);
  const out = new Float64Array(b - a);
  for (let i = 0; i < out.length; i++)
    out[i] = (words[2 * i] as number) + ((words[2 * i + 1] as number) | 0) * 4294967296;
  return out;
}

/** Rows [a, b) of a required PLAIN INT32 chunk of values 0–255 (the type column). */
export function uint8Rows(p: Pages, a: number, b: number): Uint8Array {
  const ints = int32Rows(p, a, b);
  const out = new Uint8Array(b - a);
  for (let i = 0; i < out.length; i++) {
    const v = ints[i] as number;
    if (v < 0 || v > 255) throw new MalformedParquetError(`a UINT_8 value of ${v}`);
    out[i] = v;
  }
  return out;
}

/**
 * Where rows [a, b) of an optional chunk find their values: presence (undefined: all; `none`: not
 * one), the first value's index, how many. Each call decodes the levels from the page start.
 */
export function presence(
  p: Pages,
  a: number,
  b: number,
  levels?: Uint32Array,
): { present?: Uint32Array; none?: true; first: number; count: number; valuesAt: number } {
  const { present, none, valuesAt } = definitionLevels(p.data, b, levels);
  if (none) return { none, first: 0, count: 0, valuesAt };
  if (!present) return { first: a, count: b - a, valuesAt };
  let first = 0;
  for (let i = 0; i < a; i++) first += present[i] as number;
  let count = 0;
  for (let i = a; i < b; i++) count += present[i] as number;
  return { present, first, count, valuesAt };
}

/** A page's dictionary of doubles, decoded once for all the ranges read of it. */
const doubleTables = new WeakMap<Pages, Float64Array>();
export function doubleTable(p: Pages): Float64Array {
  let table = doubleTables.get(p);
  if (!table) {
    const dict = p.dictionary as { count: number; bytes: Buffer };
    needBytes(dict.bytes, 0, dict.count, 8);
    table = new Float64Array(aligned(dict.bytes, 0, dict.count * 8));
    doubleTables.set(p, table);
  }
  return table;
}

/**
 * Rows [a, b) of an optional DOUBLE chunk: `num[i]` where `present[i]` is 1 (0 elsewhere);
 * `present` undefined when every row has a value.
 */
export function doubleRows(p: Pages, a: number, b: number): { num: Float64Array; present?: Uint8Array } {
  const { present, none, first, count, valuesAt } = presence(p, a, b);
  if (none) return { num: new Float64Array(b - a), present: new Uint8Array(b - a) };
  let values: Float64Array;
  if (p.encoding === 8) {
    values = dictionaryValues(p.data, valuesAt, first, count, doubleTable(p));
  } else {
    expect(p, 0, 'a double column');
    needBytes(p.data, valuesAt, first + count, 8);
    values = new Float64Array(aligned(p.data, valuesAt + first * 8, count * 8));
  }
  if (!present) return { num: values };
  const num = new Float64Array(b - a);
  const has = new Uint8Array(b - a);
  for (let i = a, k = 0; i < b; i++) {
    if (present[i] === 0) continue;
    has[i - a] = 1;
    num[i - a] = values[k++] as number;
  }
  return { num, present: has };
}

/** Rows [a, b) of an optional dictionary-encoded UTF-8 chunk (undefined for null). */
export function stringRows(p: Pages, a: number, b: number): (string | undefined)[] {
  expect(p, 8, 'a text column');
  const { present, none, first, count, valuesAt } = presence(p, a, b);
  if (none) return new Array<string | undefined>(b - a);
  const dict = p.dictionary as { count: number; bytes: Buffer };
  p.texts ??= plainStrings(dict.bytes, dict.count);
  const texts = p.texts;
  const idx = dictionaryIndices(p.data, valuesAt, first, count, dict.count);
  const out = new Array<string | undefined>(b - a);
  for (let i = a, k = 0; i < b; i++) out[i - a] = present?.[i] === 0 ? undefined : texts[idx[k++] as number];
  return out;
}
