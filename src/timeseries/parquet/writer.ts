/**
 * A Parquet file writer fed by columns: each column encodes its own pages for a range of rows
 * (columns.ts), this file compresses them, lays out row groups and writes the footer. It writes
 * only flat schemas of required and optional leaves, one dictionary page (if any) and one data
 * page (v1) per column chunk, zstd compressed (gzip on a Node without zstd), with column-chunk
 * statistics so readers can skip row groups.
 *
 * Why not DuckDB's COPY: appending columns to a DuckDB table and copying it out cost far more
 * than the encoding itself (JS values cross one by one, strings most of all), and a compaction of
 * many variables is dominated by that (docs/timeseries.md, "Segment layout").
 */
import zlib from 'node:zlib';
import { Bytes } from './encodings.ts';
import { releaseMemory } from './release.ts';
import { bin, encodeStruct, i32, i64, list, struct, type TField, type TValue } from './thrift.ts';

/** Parquet physical types used here. */
export const Physical = { INT32: 1, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
export type Physical = (typeof Physical)[keyof typeof Physical];

/** Parquet encodings used here. */
export const Encoding = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/** One column chunk's pages, uncompressed. */
export interface Chunk {
  /** The dictionary page's values (PLAIN) and how many there are. */
  dictionary?: { page: Buffer; count: number };
  /** The data page: definition levels (length-prefixed, optional columns) and the values. */
  data: Buffer;
  encoding: Encoding;
  nulls: number;
  /** Statistics, PLAIN encoded (byte arrays without their length). */
  min?: Buffer;
  max?: Buffer;
}

export interface ColumnDef {
  name: string;
  type: Physical;
  optional: boolean;
  /** ConvertedType, for readers that predate logical types. */
  converted?: number;
  /** LogicalType union. */
  logical?: TValue;
  /**
   * The pages of rows [from, to). A column may reuse its memory: the pages stay valid until its
   * next chunk() call (writeParquet compresses and lays a row group out before the next).
   */
  chunk(from: number, to: number): Chunk;
  /** Frees the memory its chunks were encoded in, once the file is written (release.ts). */
  release?(): void;
}

const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;

const zstdSync = (zlib as { zstdCompressSync?: (b: Buffer, o: object) => Buffer }).zstdCompressSync;
/** CompressionCodec: ZSTD = 6, GZIP = 2. */
const CODEC = zstdSync ? 6 : 2;

/**
 * A page compressed (zstd level 1: a segment is written once per compaction; level 3 saved ~10%
 * for twice the time), its output in one piece of memory of its own, freed by the caller once
 * copied into the file (release.ts). On the main thread: compressing a row group's chunks on
 * libuv's threads left each call's output and context to the garbage collector, and a merge's
 * hundreds of them raised memory by tens of MiB (docs/timeseries.md, Memory); at level 1 the
 * compression is a small part of a compaction (8 ms a million points).
 */
function compressPage(b: Buffer): Buffer {
  // Room for incompressible bytes (zstd's bound is n + n/256 + a little): one output piece.
  const chunkSize = b.length + (b.length >> 7) + 1024;
  return zstdSync
    ? zstdSync(b, { params: { [zlib.constants.ZSTD_c_compressionLevel ?? 100]: 1 }, chunkSize })
    : zlib.gzipSync(b, { level: 1, chunkSize });
}

interface WrittenChunk {
  /** The ColumnChunk struct. */
  meta: TValue;
  bytes: number;
  uncompressed: number;
}

function pageHeader(type: number, uncompressed: number, compressed: number, header: TField): Buffer {
  return encodeStruct([1, i32(type)], [2, i32(uncompressed)], [3, i32(compressed)], header);
}

/**
 * Appends a page's header and its compressed bytes to `out`; returns the bytes written and the
 * bytes the page takes uncompressed (its header included), as the ColumnChunk counts them.
 */
function writePage(
  out: Bytes,
  page: Buffer,
  header: (compressed: number) => Buffer,
): { bytes: number; uncompressed: number } {
  const compressed = compressPage(page);
  const size = compressed.length;
  const h = header(size);
  out.bytes(h);
  out.bytes(compressed);
  releaseMemory(compressed); // its length reads 0 from here on
  return { bytes: h.length + size, uncompressed: h.length + page.length };
}

/** Appends a chunk's page headers and compressed pages to `out` (the file so far). */
function layOut(col: ColumnDef, chunk: Chunk, rows: number, out: Bytes): WrittenChunk {
  const offset = out.n;
  let bytes = 0;
  let uncompressed = 0;
  let dictionaryOffset: number | undefined;
  const dict = chunk.dictionary;
  if (dict) {
    dictionaryOffset = offset;
    const w = writePage(out, dict.page, (compressed) =>
      pageHeader(PAGE_DICTIONARY, dict.page.length, compressed, [
        7,
        struct([1, i32(dict.count)], [2, i32(Encoding.PLAIN)]),
      ]),
    );
    bytes += w.bytes;
    uncompressed += w.uncompressed;
  }
  const dataOffset = offset + bytes;
  const w = writePage(out, chunk.data, (compressed) =>
    pageHeader(PAGE_DATA, chunk.data.length, compressed, [
      5,
      struct([1, i32(rows)], [2, i32(chunk.encoding)], [3, i32(Encoding.RLE)], [4, i32(Encoding.RLE)]),
    ]),
  );
  bytes += w.bytes;
  uncompressed += w.uncompressed;
  const encodings = chunk.dictionary
    ? [Encoding.PLAIN, Encoding.RLE, Encoding.RLE_DICTIONARY]
    : [Encoding.PLAIN, Encoding.RLE];
  const meta = struct(
    [1, i32(col.type)],
    [2, list('i32', encodings.map(i32))],
    [3, list('bin', [bin(col.name)])],
    [4, i32(CODEC)],
    [5, i64(rows)],
    [6, i64(uncompressed)],
    [7, i64(bytes)],
    [9, i64(dataOffset)],
    [11, dictionaryOffset === undefined ? undefined : i64(dictionaryOffset)],
    [
      12,
      struct(
        [3, i64(chunk.nulls)],
        [5, chunk.max ? bin(chunk.max) : undefined],
        [6, chunk.min ? bin(chunk.min) : undefined],
      ),
    ],
  );
  return { meta: struct([2, i64(offset)], [3, meta]), bytes, uncompressed };
}

function schemaOf(columns: readonly ColumnDef[]): TValue[] {
  return [
    struct([4, bin('schema')], [5, i32(columns.length)]),
    ...columns.map((c) =>
      struct(
        [1, i32(c.type)],
        [3, i32(c.optional ? 1 : 0)],
        [4, bin(c.name)],
        [6, c.converted === undefined ? undefined : i32(c.converted)],
        [10, c.logical],
      ),
    ),
  ];
}

const MAGIC = Buffer.from('PAR1');

/** The footer's created_by: a reader knows the files it may decode itself by it (segment-reader.ts). */
export const CREATED_BY = 'sluice time-series segment writer';

/**
 * The bytes of a Parquet file of `rows` rows in row groups of `rowGroupRows`, with `keyValues` in
 * its footer's key_value_metadata (read back by footer.ts). `group(from, to)` gives the columns of
 * rows [from, to), each chunked from its own row 0: a caller fills one row group's arrays at a time
 * (and may reuse them for the next; chunks are encoded before the next call) rather than holding
 * the whole file's. Every group's columns have the same schema. The buffer returned is the file's alone
 * (no other view of its memory): a caller may free it once written (release.ts).
 */
export async function writeParquet(
  rows: number,
  rowGroupRows: number,
  group: (from: number, to: number) => readonly ColumnDef[] | Promise<readonly ColumnDef[]>,
  keyValues:
    | readonly (readonly [string, Uint8Array])[]
    | (() => readonly (readonly [string, Uint8Array])[]) = [],
): Promise<Buffer> {
  // The file, grown as row groups are laid out (no list of parts concatenated at the end).
  const out = new Bytes(Math.min(1 << 20, 4096 + rows * 4), true);
  out.bytes(MAGIC);
  const groups: TValue[] = [];
  let columns: readonly ColumnDef[] | undefined;
  for (let from = 0; from < rows; from += rowGroupRows) {
    const to = Math.min(rows, from + rowGroupRows);
    columns = await group(from, to);
    const start = out.n;
    const metas: TValue[] = [];
    let uncompressed = 0;
    for (const c of columns) {
      const w = layOut(c, c.chunk(0, to - from), to - from, out);
      metas.push(w.meta);
      uncompressed += w.uncompressed;
    }
    groups.push(
      struct(
        [1, list('struct', metas)],
        [2, i64(uncompressed)],
        [3, i64(to - from)],
        [5, i64(start)],
        [6, i64(out.n - start)],
      ),
    );
  }
  columns ??= await group(0, 0);
  // A function: values known only once every row group was filled (a writer of lazily read runs).
  const kv = typeof keyValues === 'function' ? keyValues() : keyValues;
  const footer = encodeStruct(
    [1, i32(1)],
    [2, list('struct', schemaOf(columns))],
    [3, i64(rows)],
    [4, list('struct', groups)],
    [
      5,
      kv.length === 0
        ? undefined
        : list(
            'struct',
            kv.map(([k, v]) => struct([1, bin(k)], [2, bin(v)])),
          ),
    ],
    [6, bin(CREATED_BY)],
    // TypeDefinedOrder for every column: min_value/max_value are in the type's order.
    [
      7,
      list(
        'struct',
        columns.map(() => struct([1, struct()])),
      ),
    ],
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(footer.length);
  out.bytes(footer);
  out.bytes(len);
  out.bytes(MAGIC);
  const file = out.done();
  if (out.buf.length <= file.length + (file.length >> 2)) return file;
  // Much of the buffer unused: the file gets memory of its size (a caller may keep it: a
  // store in memory does), and the buffer's is freed.
  const own = Buffer.from(file);
  releaseMemory(out.buf);
  return own;
}
