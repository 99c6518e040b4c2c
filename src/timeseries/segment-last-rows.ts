/**
 * The last point of every run of a segment file, kept in the file's Parquet footer (key
 * `sluice.last_rows`), so latest() of many variables reads a footer per file instead of
 * scanning every row of it (DuckDB took ≈ 190 ms for two files of 2M points). The manifest does
 * not carry them for files of many variables: it is rewritten at every publish (manifest-codec.ts).
 *
 * The value: a version byte (1), a codec byte (0 none, 1 gzip, 2 zstd) and the compressed body
 * (metadata texts are one per variable and alike: compressed, 10,000 runs take ≈ 100 kB, not 700).
 * The body, column by column (varints unsigned LEB128, float64 little-endian): the distinct
 * texts as one JSON array of strings (its byte length, then UTF-8); the number of runs; each run's rows
 * (varint); each run's last point's type (byte; NOT_KEPT when its texts are long: the reader then
 * reads that row from the file); the value of each kept point of a number or boolean (float64);
 * each kept point's string value's text number, then each one's metadata's (varint, 1-based; 0 for
 * none).
 */
import zlib from 'node:zlib';
import { T_BOOL, T_NUMBER, T_STRING } from './codec.ts';
import { type Columns, metaAt } from './columns.ts';
import type { LastPoint } from './manifest.ts';
import { BadFooterError } from './parquet/footer.ts';

export const LAST_ROWS_KEY = 'sluice.last_rows';
const VERSION = 1;
const NOT_KEPT = 255;
const Codec = { NONE: 0, GZIP: 1, ZSTD: 2 } as const;

const z = zlib as {
  zstdCompressSync?: (b: Buffer, o?: object) => Buffer;
  zstdDecompressSync?: (b: Buffer) => Buffer;
};

const hasNum = (type: number) => type === T_NUMBER || type === T_BOOL;

/** The footer value for runs of `cols` in file order. */
export function encodeLastRows(runs: readonly Columns[]): Buffer {
  return encodeRunEnds(runs.map((cols) => ({ rows: cols.length, ...lastPointOf(cols) })));
}

/** The footer value for runs of `rows` rows ending in `last` (undefined: not kept), in file order. */
export function encodeRunEnds(runs: readonly { rows: number; last?: LastPoint }[]): Buffer {
  const texts: string[] = [];
  const ids = new Map<string, number>();
  const idOf = (t: string | undefined): number => {
    if (t === undefined) return 0;
    let id = ids.get(t);
    if (id === undefined) {
      texts.push(t);
      id = texts.length;
      ids.set(t, id);
    }
    return id;
  };
  const points = runs.map((r) => r.last);
  const kept = points.filter((p): p is LastPoint => p !== undefined);
  const strIds = kept.map((p) => idOf(p.type === T_STRING ? (p.str ?? '') : undefined));
  const metaIds = kept.map((p) => idOf(p.meta));
  // One JSON array: JSON.parse makes 10,000 strings in a millisecond, a toString per text took 10.
  const textBytes = Buffer.from(JSON.stringify(texts));
  const out = new Writer(16 + textBytes.length + runs.length * 36);
  out.varint(textBytes.length);
  out.bytes(textBytes);
  out.varint(runs.length);
  for (const r of runs) out.varint(r.rows);
  for (const p of points) out.byte(p ? p.type : NOT_KEPT);
  for (const p of kept) if (hasNum(p.type)) out.double(p.num);
  for (const id of strIds) out.varint(id);
  for (const id of metaIds) out.varint(id);
  const body = out.done();
  const zstd = z.zstdCompressSync;
  const codec = zstd ? Codec.ZSTD : Codec.GZIP;
  const packed = zstd
    ? zstd(body, { params: { [zlib.constants.ZSTD_c_compressionLevel ?? 100]: 3 } })
    : zlib.gzipSync(body, { level: 6 });
  return Buffer.concat([Buffer.of(VERSION, codec), packed]);
}

/** Bytes written into a buffer sized by the caller's upper bound. */
class Writer {
  private readonly buf: Buffer;
  private n = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  byte(b: number): void {
    this.buf[this.n++] = b;
  }
  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  varint(u: number): void {
    while (u >= 0x80) {
      this.buf[this.n++] = (u % 0x80) | 0x80;
      u = Math.floor(u / 0x80);
    }
    this.buf[this.n++] = u;
  }
  double(v: number): void {
    this.buf.writeDoubleLE(v, this.n);
    this.n += 8;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}

/** The runs' last points by row number (those NOT_KEPT left out); throws BadFooterError if torn. */
export function decodeLastRows(value: Buffer): Map<number, LastPoint> {
  const buf = unpack(value);
  const r = new Reader(buf);
  const textBytes = r.varint();
  const texts = parseTexts(buf.toString('utf8', r.at, r.skip(textBytes)));
  const runs = r.varint();
  const ends = new Float64Array(runs);
  let end = 0;
  for (let i = 0; i < runs; i++) {
    end += r.varint();
    ends[i] = end;
  }
  const types = buf.subarray(r.at, r.skip(runs));
  const keptAt: number[] = [];
  for (let i = 0; i < runs; i++) if (types[i] !== NOT_KEPT) keptAt.push(i);
  const nums = new Float64Array(keptAt.length);
  for (let k = 0; k < keptAt.length; k++)
    if (hasNum(types[keptAt[k] as number] as number)) nums[k] = buf.readDoubleLE(r.skip(8) - 8);
  const strIds = new Uint32Array(keptAt.length);
  for (let k = 0; k < keptAt.length; k++) strIds[k] = r.varint();
  const out = new Map<number, LastPoint>();
  for (let k = 0; k < keptAt.length; k++) {
    const i = keptAt[k] as number;
    const s = strIds[k] as number;
    const m = r.varint();
    if (s > texts.length || m > texts.length)
      throw new BadFooterError(`${LAST_ROWS_KEY} names text ${Math.max(s, m)} of ${texts.length}`);
    const point: LastPoint = { type: types[i] as number, num: nums[k] as number };
    if (s > 0) point.str = texts[s - 1];
    if (m > 0) point.meta = texts[m - 1];
    out.set((ends[i] as number) - 1, point);
  }
  return out;
}

function parseTexts(json: string): string[] {
  let texts: unknown;
  try {
    texts = JSON.parse(json);
  } catch {
    throw new BadFooterError(`${LAST_ROWS_KEY}'s texts are not JSON`);
  }
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string'))
    throw new BadFooterError(`${LAST_ROWS_KEY}'s texts are not a list of strings`);
  return texts;
}

class Reader {
  at = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  /** Moves past `n` bytes and returns where that leaves it. */
  skip(n: number): number {
    if (this.at + n > this.buf.length) throw new BadFooterError(`${LAST_ROWS_KEY} ends early`);
    this.at += n;
    return this.at;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.at >= this.buf.length) throw new BadFooterError(`${LAST_ROWS_KEY} ends early`);
      const b = this.buf[this.at++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  }
}

function unpack(value: Buffer): Buffer {
  if (value.length < 2) throw new BadFooterError(`${LAST_ROWS_KEY} is empty`);
  if (value[0] !== VERSION) throw new BadFooterError(`${LAST_ROWS_KEY} has unknown version ${value[0]}`);
  const body = value.subarray(2);
  switch (value[1]) {
    case Codec.NONE:
      return body;
    case Codec.GZIP:
      return zlib.gunzipSync(body);
    case Codec.ZSTD:
      if (!z.zstdDecompressSync) throw new BadFooterError(`${LAST_ROWS_KEY} is zstd, which this Node lacks`);
      return z.zstdDecompressSync(body);
    default:
      throw new BadFooterError(`${LAST_ROWS_KEY} has unknown codec ${value[1]}`);
  }
}

/** Longest string value plus metadata kept in a manifest entry's `last` (characters). */
const LAST_POINT_TEXT = 512;

/** `{ last }` for the entry of a segment of sorted `cols`, or nothing when its texts are long. */
export function lastPointOf(cols: Columns): { last?: LastPoint } {
  const i = cols.length - 1;
  if (i < 0) return {};
  const type = cols.type[i] as number;
  const str = type === T_STRING ? cols.strs[i] : undefined;
  const meta = metaAt(cols, i);
  if ((str?.length ?? 0) + (meta?.length ?? 0) > LAST_POINT_TEXT) return {};
  return {
    last: {
      type,
      num: cols.num[i] as number,
      ...(str !== undefined ? { str } : {}),
      ...(meta !== undefined ? { meta } : {}),
    },
  };
}
