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
}

const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;

type Compress = (b: Buffer, cb: (err: Error | null, out: Buffer) => void) => void;
const zstd = (
  zlib as { zstdCompress?: (b: Buffer, o: object, cb: (e: Error | null, r: Buffer) => void) => void }
).zstdCompress;
/** zstd level 1: a segment is written once per compaction; level 3 saved ~10% for twice the time. */
const compress: Compress = zstd
  ? (b, cb) => zstd(b, { params: { [zlib.constants.ZSTD_c_compressionLevel ?? 100]: 1 } }, cb)
  : (b, cb) => zlib.gzip(b, { level: 1 }, cb);
/** CompressionCodec: ZSTD = 6, GZIP = 2. */
const CODEC = zstd ? 6 : 2;

/** Compressed on libuv's threads, so several chunks compress at once, beside the JS encoding. */
const compressAsync = (b: Buffer) =>
  new Promise<Buffer>((resolve, reject) => compress(b, (e, out) => (e ? reject(e) : resolve(out))));

interface WrittenChunk {
  /** The ColumnChunk struct. */
  meta: TValue;
  bytes: number;
  uncompressed: number;
}

function pageHeader(type: number, uncompressed: number, compressed: number, header: TField): Buffer {
  return encodeStruct([1, i32(type)], [2, i32(uncompressed)], [3, i32(compressed)], header);
}

/** A chunk's pages compressed: the dictionary page's (if any) and the data page's. */
async function compressChunk(chunk: Chunk): Promise<{ dict?: Buffer; data: Buffer }> {
  const [dict, data] = await Promise.all([
    chunk.dictionary ? compressAsync(chunk.dictionary.page) : undefined,
    compressAsync(chunk.data),
  ]);
  return dict ? { dict, data } : { data };
}

/** Appends a chunk's page headers and pages to `parts`, starting at file offset `offset`. */
function layOut(
  col: ColumnDef,
  chunk: Chunk,
  pages: { dict?: Buffer; data: Buffer },
  rows: number,
  offset: number,
  parts: Buffer[],
): WrittenChunk {
  let bytes = 0;
  let uncompressed = 0;
  let dictionaryOffset: number | undefined;
  if (chunk.dictionary && pages.dict) {
    const h = pageHeader(PAGE_DICTIONARY, chunk.dictionary.page.length, pages.dict.length, [
      7,
      struct([1, i32(chunk.dictionary.count)], [2, i32(Encoding.PLAIN)]),
    ]);
    dictionaryOffset = offset;
    parts.push(h, pages.dict);
    bytes += h.length + pages.dict.length;
    uncompressed += h.length + chunk.dictionary.page.length;
  }
  const dataOffset = offset + bytes;
  const h = pageHeader(PAGE_DATA, chunk.data.length, pages.data.length, [
    5,
    struct([1, i32(rows)], [2, i32(chunk.encoding)], [3, i32(Encoding.RLE)], [4, i32(Encoding.RLE)]),
  ]);
  parts.push(h, pages.data);
  bytes += h.length + pages.data.length;
  uncompressed += h.length + chunk.data.length;
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
 * the whole file's. Every group's columns have the same schema.
 */
export async function writeParquet(
  rows: number,
  rowGroupRows: number,
  group: (from: number, to: number) => readonly ColumnDef[] | Promise<readonly ColumnDef[]>,
  keyValues:
    | readonly (readonly [string, Uint8Array])[]
    | (() => readonly (readonly [string, Uint8Array])[]) = [],
): Promise<Buffer[]> {
  const parts: Buffer[] = [MAGIC];
  let offset = MAGIC.length;
  const groups: TValue[] = [];
  let columns: readonly ColumnDef[] | undefined;
  for (let from = 0; from < rows; from += rowGroupRows) {
    const to = Math.min(rows, from + rowGroupRows);
    columns = await group(from, to);
    // Encode every column (JS), compress them all at once (threads), then lay them out.
    const chunks = columns.map((c) => c.chunk(0, to - from));
    const pages = await Promise.all(chunks.map(compressChunk));
    const start = offset;
    const metas: TValue[] = [];
    let uncompressed = 0;
    columns.forEach((c, j) => {
      const w = layOut(c, chunks[j] as Chunk, pages[j] as { data: Buffer }, to - from, offset, parts);
      metas.push(w.meta);
      offset += w.bytes;
      uncompressed += w.uncompressed;
    });
    groups.push(
      struct(
        [1, list('struct', metas)],
        [2, i64(uncompressed)],
        [3, i64(to - from)],
        [5, i64(start)],
        [6, i64(offset - start)],
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
  parts.push(footer, len, MAGIC);
  return parts;
}
