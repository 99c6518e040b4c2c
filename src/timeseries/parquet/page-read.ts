/**
 * The read side of writer.ts and encodings.ts: one column chunk's pages (an optional dictionary
 * page and one v1 data page), decompressed and decoded into typed arrays for a range of its rows.
 * Two kinds of failure: UnsupportedParquetError for a well-formed chunk laid out otherwise than
 * this writer lays them out (more pages, another page kind, codec or encoding: the caller reads
 * the file another way), MalformedParquetError for bytes that cannot be right (a length past its
 * page, an index past its dictionary, a page that does not decompress to its stated size). Every
 * read is bounds-checked: a corrupt file never reads outside its buffers or yields other values.
 */
import zlib from 'node:zlib';
import type { ChunkMeta } from './file-meta.ts';
import { BadFooterError, In, T } from './footer.ts';
import { releaseMemory } from './release.ts';

/** Laid out otherwise than this reader knows: read the file another way. */
export class UnsupportedParquetError extends Error {}
/** Bytes that cannot be a valid file: the caller names the file. */
export class MalformedParquetError extends Error {}

const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const PLAIN = 0;
const RLE = 3;
const RLE_DICTIONARY = 8;

const z = zlib as typeof zlib & { zstdDecompressSync?: (b: Buffer, o?: object) => Buffer };

function decompress(codec: number, page: Buffer, size: number): Buffer {
  if (codec === 0) {
    if (page.length !== size)
      throw new MalformedParquetError(`a page of ${page.length} bytes states ${size}`);
    return page;
  }
  let out: Buffer;
  try {
    // maxOutputLength: a corrupt page cannot make a larger buffer than it states; chunkSize: the
    // page in one piece (16 KiB pieces were concatenated after, one more copy of each page).
    const options = { maxOutputLength: size + 1, chunkSize: Math.max(64, size + 1) };
    if (codec === 6 && z.zstdDecompressSync) out = z.zstdDecompressSync(page, options);
    else if (codec === 2) out = zlib.gunzipSync(page, options);
    else throw new UnsupportedParquetError(`compression codec ${codec}`);
  } catch (error) {
    if (error instanceof UnsupportedParquetError) throw error;
    throw new MalformedParquetError(`a page does not decompress (${(error as Error).message})`);
  }
  if (out.length !== size)
    throw new MalformedParquetError(
      `a page decompresses to ${out.length} bytes where its header states ${size}`,
    );
  return out;
}

interface PageHeader {
  type: number;
  uncompressed: number;
  compressed: number;
  numValues: number;
  encoding: number;
  defEncoding: number;
  /** Bytes of the header itself. */
  length: number;
}

function pageHeader(buf: Buffer, at: number): PageHeader {
  const r = new In(buf.subarray(at));
  const h: PageHeader = {
    type: -1,
    uncompressed: -1,
    compressed: -1,
    numValues: -1,
    encoding: -1,
    defEncoding: -1,
    length: 0,
  };
  const ints = (on: (id: number, v: number) => void) => {
    let last = 0;
    for (let f = r.field(last); f; f = r.field(last)) {
      last = f.id;
      if (f.type === T.I32) on(f.id, r.int());
      else r.skip(f.type);
    }
  };
  try {
    let last = 0;
    for (let f = r.field(last); f; f = r.field(last)) {
      last = f.id;
      if (f.type === T.I32 && f.id <= 3) {
        const v = r.int();
        if (f.id === 1) h.type = v;
        else if (f.id === 2) h.uncompressed = v;
        else h.compressed = v;
      } else if (f.type === T.STRUCT && f.id === 5)
        ints((id, v) => {
          if (id === 1) h.numValues = v;
          else if (id === 2) h.encoding = v;
          else if (id === 3) h.defEncoding = v;
        });
      else if (f.type === T.STRUCT && f.id === 7)
        ints((id, v) => {
          if (id === 1) h.numValues = v;
          else if (id === 2) h.encoding = v;
        });
      else r.skip(f.type);
    }
  } catch (error) {
    if (error instanceof BadFooterError)
      throw new MalformedParquetError(`a page header does not parse: ${error.message}`);
    throw error;
  }
  if (h.uncompressed < 0 || h.compressed < 0 || h.numValues < 0)
    throw new MalformedParquetError('a page header lacks its sizes or value count');
  h.length = r.at;
  return h;
}

/** A column chunk's pages, decompressed. */
export interface Pages {
  dictionary?: { count: number; bytes: Buffer };
  data: Buffer;
  /** Values in the data page (rows: the schemas here are flat). */
  rows: number;
  encoding: number;
  /** The dictionary's texts once decoded (segment-reader.ts stringRows), for the next rows asked of it. */
  texts?: string[];
}

/**
 * Frees the memory of pages nothing reads any more (release.ts): their decompressed bytes, and
 * the bytes read from the file that uncompressed pages are views of.
 */
export function releasePages(pages: Iterable<Pages>): void {
  for (const p of pages) releaseMemory(p.data, p.dictionary?.bytes);
}

/** The pages of the chunk `c`, whose bytes are `buf` from file offset `base` on. */
export function readPages(buf: Buffer, base: number, c: ChunkMeta): Pages {
  const end = c.start + c.compressedSize - base;
  let at = c.start - base;
  if (at < 0 || end > buf.length || end < at)
    throw new MalformedParquetError('a column chunk lies outside the bytes read');
  const page = (): { h: PageHeader; body: Buffer } => {
    const h = pageHeader(buf.subarray(0, end), at);
    const from = at + h.length;
    if (from + h.compressed > end)
      throw new MalformedParquetError(
        `a page of ${h.compressed} bytes at ${base + at} runs past its column chunk`,
      );
    at = from + h.compressed;
    return { h, body: buf.subarray(from, at) };
  };
  let dictionary: Pages['dictionary'];
  let p = page();
  if (p.h.type === PAGE_DICTIONARY) {
    if (p.h.encoding !== PLAIN) throw new UnsupportedParquetError(`dictionary page encoding ${p.h.encoding}`);
    dictionary = { count: p.h.numValues, bytes: decompress(c.codec, p.body, p.h.uncompressed) };
    if (at >= end) throw new MalformedParquetError('a column chunk has a dictionary page and no data page');
    p = page();
  }
  if (p.h.type !== PAGE_DATA) throw new UnsupportedParquetError(`page type ${p.h.type}`);
  if (at !== end) throw new UnsupportedParquetError('a column chunk of several data pages');
  if (p.h.encoding !== PLAIN && p.h.encoding !== RLE_DICTIONARY)
    throw new UnsupportedParquetError(`data page encoding ${p.h.encoding}`);
  if (p.h.encoding === RLE_DICTIONARY && !dictionary)
    throw new MalformedParquetError('a dictionary-encoded page without a dictionary');
  if (p.h.defEncoding !== RLE && p.h.defEncoding !== -1)
    throw new UnsupportedParquetError(`definition level encoding ${p.h.defEncoding}`);
  if (p.h.numValues !== c.numValues)
    throw new MalformedParquetError(`a data page of ${p.h.numValues} values in a chunk of ${c.numValues}`);
  const data = decompress(c.codec, p.body, p.h.uncompressed);
  return { ...(dictionary ? { dictionary } : {}), data, rows: p.h.numValues, encoding: p.h.encoding };
}

function outsideDictionary(index: number, size: number): MalformedParquetError {
  return new MalformedParquetError(`dictionary index ${index} of a dictionary of ${size}`);
}

/**
 * Values [skip, skip + count) of the RLE / bit-packed hybrid at `width` bits in buf[at, end) into
 * `out` (those before `skip` are passed over, not decoded), or with `table` the table's entries
 * they index (one pass, not indices and then values); returns the offset after the last run read.
 */
export function decodeHybrid(
  buf: Buffer,
  at: number,
  end: number,
  width: number,
  count: number,
  out: Uint32Array | Float64Array,
  skip = 0,
  table?: Float64Array,
): number {
  if (width > 32) throw new MalformedParquetError(`a bit width of ${width}`);
  const valueBytes = Math.ceil(width / 8);
  let n = -skip;
  let p = at;
  while (n < count) {
    let h = 0;
    let mul = 1;
    for (;;) {
      if (p >= end)
        throw new MalformedParquetError(`encoded values end after ${n + skip} of ${count + skip}`);
      const b = buf[p++] as number;
      h += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 0x80;
      if (mul > 2 ** 35) throw new MalformedParquetError('a run header is too long');
    }
    if (h % 2 === 0) {
      const run = Math.min(h / 2, count - n);
      if (p + valueBytes > end)
        throw new MalformedParquetError(`encoded values end after ${n + skip} of ${count + skip}`);
      let v = 0;
      for (let k = valueBytes - 1; k >= 0; k--) v = v * 256 + (buf[p + k] as number);
      p += valueBytes;
      if (n + run > 0) {
        if (table && v >= table.length) throw outsideDictionary(v, table.length);
        out.fill(table ? (table[v] as number) : v, Math.max(0, n), n + run);
      }
      n += run;
      continue;
    }
    const groups = (h - 1) / 2;
    const bytes = groups * width;
    if (p + bytes > end) throw new MalformedParquetError('bit-packed values run past their page');
    const take = Math.min(groups * 8, count - n);
    if (n + take > 0) {
      // Values of this run before `skip` are passed over: whole groups of 8 by their bytes.
      const pass = Math.max(0, -n);
      const passGroups = Math.floor(pass / 8);
      unpack(
        buf,
        p + passGroups * width,
        width,
        pass - passGroups * 8,
        take - passGroups * 8,
        out,
        n + passGroups * 8,
        table,
      );
    }
    n += take;
    p += bytes;
  }
  return p;
}

/**
 * Values [drop, count) of `width` bits packed LSB first from buf[at…] into out[n + drop…] (the
 * first `drop` are decoded and dropped: `n` may be negative by as many).
 */
function unpack(
  buf: Buffer,
  at: number,
  width: number,
  drop: number,
  count: number,
  out: Uint32Array | Float64Array,
  n: number,
  table: Float64Array | undefined,
): void {
  let p = at;
  if (width <= 24) {
    // The accumulator stays below 2^(width + 8) ≤ 2^32: unsigned 32-bit operations are exact.
    const mask = width === 0 ? 0 : 0xffffffff >>> (32 - width);
    let acc = 0;
    let bits = 0;
    for (let k = 0; k < count; k++) {
      while (bits < width) {
        acc = (acc | ((buf[p++] as number) << bits)) >>> 0;
        bits += 8;
      }
      if (k >= drop) {
        const v = acc & mask;
        if (table === undefined) out[n + k] = v;
        else {
          const x = table[v];
          if (x === undefined) throw outsideDictionary(v, table.length);
          out[n + k] = x;
        }
      }
      acc >>>= width;
      bits -= width;
    }
    return;
  }
  const scale = 2 ** width;
  let acc = 0;
  let mul = 1;
  for (let k = 0; k < count; k++) {
    while (mul < scale) {
      acc += (buf[p++] as number) * mul;
      mul *= 256;
    }
    if (k >= drop) {
      const v = acc % scale;
      if (table && v >= table.length) throw outsideDictionary(v, table.length);
      out[n + k] = table ? (table[v] as number) : v;
    }
    acc = Math.floor(acc / scale);
    mul /= scale;
  }
}

/**
 * Which of a data page's first `rows` rows have a value (definition level 1; undefined: all of
 * them, the common case, told by the first run; `none`: not one, as in a text column of numbers),
 * and where its values start. `into` is filled (and its start returned) when it is long enough.
 */
export function definitionLevels(
  data: Buffer,
  rows: number,
  into?: Uint32Array,
): { present?: Uint32Array; none?: true; valuesAt: number } {
  if (data.length < 4) throw new MalformedParquetError('a data page ends before its definition levels');
  const len = data.readUInt32LE(0);
  if (4 + len > data.length)
    throw new MalformedParquetError(`definition levels of ${len} bytes run past their page`);
  // One RLE run of 1s (or of 0s) as long as the rows asked for, or longer: no array of them.
  let h = 0;
  let mul = 1;
  for (let p = 4; p < 4 + len && mul < 2 ** 35; p++, mul *= 0x80) {
    const b = data[p] as number;
    h += (b & 0x7f) * mul;
    if (b >= 0x80) continue;
    if (h % 2 === 0 && h / 2 >= rows && p + 1 < 4 + len) {
      if (data[p + 1] === 1) return { valuesAt: 4 + len };
      if (data[p + 1] === 0) return { none: true, valuesAt: 4 + len };
    }
    break;
  }
  // `into`, when it is long enough: a caller reading many ranges reuses one array for them.
  const present = into && into.length >= rows ? into.subarray(0, rows) : new Uint32Array(rows);
  decodeHybrid(data, 4, 4 + len, 1, rows, present);
  return { present, valuesAt: 4 + len };
}

/** The dictionary entries of values [skip, skip + count) of those at data[at…] (a bit width byte, then the hybrid). */
export function dictionaryValues(
  data: Buffer,
  at: number,
  skip: number,
  count: number,
  table: Float64Array,
): Float64Array {
  const out = new Float64Array(count);
  if (skip + count === 0) return out;
  if (at >= data.length) throw new MalformedParquetError('a data page ends before its dictionary indices');
  decodeHybrid(data, at + 1, data.length, data[at] as number, count, out, skip, table);
  return out;
}

/** Dictionary indices [skip, skip + count) of those at data[at…] (a bit width byte, then the hybrid). */
export function dictionaryIndices(
  data: Buffer,
  at: number,
  skip: number,
  count: number,
  dictionarySize: number,
): Uint32Array {
  if (at >= data.length) {
    if (skip + count === 0) return new Uint32Array(0);
    throw new MalformedParquetError('a data page ends before its dictionary indices');
  }
  const out = new Uint32Array(count);
  decodeHybrid(data, at + 1, data.length, data[at] as number, count, out, skip);
  for (let i = 0; i < count; i++)
    if ((out[i] as number) >= dictionarySize) throw outsideDictionary(out[i] as number, dictionarySize);
  return out;
}

/** PLAIN byte arrays (a 4-byte length each) of a dictionary page, as UTF-8 strings. */
export function plainStrings(bytes: Buffer, count: number): string[] {
  const out = new Array<string>(count);
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 4 > bytes.length)
      throw new MalformedParquetError(`a dictionary ends after ${i} of ${count} texts`);
    const len = bytes.readUInt32LE(p);
    if (p + 4 + len > bytes.length)
      throw new MalformedParquetError(`a text of ${len} bytes runs past its dictionary`);
    out[i] = bytes.toString('utf8', p + 4, p + 4 + len);
    p += 4 + len;
  }
  return out;
}

/** Checks that `bytes` holds `count` fixed-size values from `at` on. */
export function needBytes(bytes: Buffer, at: number, count: number, size: number): void {
  if (at + count * size > bytes.length)
    throw new MalformedParquetError(
      `${count} values of ${size} bytes run past their page of ${bytes.length}`,
    );
}
