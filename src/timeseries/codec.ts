/**
 * The write-ahead log's record format: one record per acknowledged batch, columnar inside so a
 * batch encodes with a few typed-array copies instead of one JSON.stringify per point.
 *
 *   record  = u32 payloadLength | u32 crc32(payload) | payload
 *   payload = u8 version(1) | f64 firstSeq | u32 count
 *           | u32 nVars  { u32 len | utf8 }      variable names used in the batch
 *           | u32 nMetas { u32 len | utf8 JSON } distinct metadata objects of the batch
 *           | u32[count] varIndex | f64[count] micros | u8[count] type | f64[count] number
 *           | u32[count] metaIndex (0 = none, i + 1 otherwise)
 *           | for each string-typed point in order: u32 len | utf8
 *
 * A record that is short or fails its CRC is a torn write: recovery stops there.
 */
import { crc32 } from 'node:zlib';

export const T_NULL = 0;
export const T_NUMBER = 1;
export const T_STRING = 2;
export const T_BOOL = 3;

/** A validated batch in columnar form (also what decoding a record yields). */
export interface PointBatch {
  count: number;
  firstSeq: number;
  vars: string[];
  varIdx: Uint32Array;
  micros: Float64Array;
  type: Uint8Array;
  num: Float64Array;
  /** Strings by point index (only string-typed points have one). */
  strs: Map<number, string>;
  metas: string[];
  metaIdx: Uint32Array;
}

export const RECORD_HEADER = 8;
const VERSION = 1;

export function encodeBatch(b: PointBatch): Buffer {
  const n = b.count;
  const varBufs = b.vars.map((v) => Buffer.from(v));
  const metaBufs = b.metas.map((m) => Buffer.from(m));
  const strBufs: Buffer[] = [];
  for (let i = 0; i < n; i++) if (b.type[i] === T_STRING) strBufs.push(Buffer.from(b.strs.get(i) ?? ''));
  let size = 1 + 8 + 4 + 4 + 4 + n * (4 + 8 + 1 + 8 + 4);
  for (const x of varBufs) size += 4 + x.length;
  for (const x of metaBufs) size += 4 + x.length;
  for (const x of strBufs) size += 4 + x.length;
  const out = Buffer.allocUnsafe(RECORD_HEADER + size);
  let o = RECORD_HEADER;
  out.writeUInt8(VERSION, o);
  o += 1;
  out.writeDoubleLE(b.firstSeq, o);
  o += 8;
  out.writeUInt32LE(n, o);
  o += 4;
  o = writeStrings(out, o, varBufs);
  o = writeStrings(out, o, metaBufs);
  o = copyTyped(out, o, b.varIdx, n * 4);
  o = copyTyped(out, o, b.micros, n * 8);
  o = copyTyped(out, o, b.type, n);
  o = copyTyped(out, o, b.num, n * 8);
  o = copyTyped(out, o, b.metaIdx, n * 4);
  for (const s of strBufs) {
    out.writeUInt32LE(s.length, o);
    o += 4;
    o += s.copy(out, o);
  }
  out.writeUInt32LE(size, 0);
  out.writeUInt32LE(crc32(out.subarray(RECORD_HEADER)), 4);
  return out;
}

function writeStrings(out: Buffer, o: number, bufs: Buffer[]): number {
  out.writeUInt32LE(bufs.length, o);
  o += 4;
  for (const x of bufs) {
    out.writeUInt32LE(x.length, o);
    o += 4;
    o += x.copy(out, o);
  }
  return o;
}

function copyTyped(out: Buffer, o: number, arr: ArrayBufferView, bytes: number): number {
  // Machines running Node are little-endian (x64, arm64), so raw typed-array bytes are LE.
  out.set(new Uint8Array(arr.buffer, arr.byteOffset, bytes), o);
  return o + bytes;
}

export type DecodeResult = { ok: true; batch: PointBatch; length: number } | { ok: false; reason: string };

/** Decodes the record at `offset`; a short or CRC-bad record is reported, never thrown. */
export function decodeRecord(buf: Buffer, offset: number): DecodeResult {
  if (buf.length - offset < RECORD_HEADER) return { ok: false, reason: 'short header' };
  const size = buf.readUInt32LE(offset);
  const crc = buf.readUInt32LE(offset + 4);
  const start = offset + RECORD_HEADER;
  if (size < 21 || start + size > buf.length) return { ok: false, reason: 'short record' };
  const payload = buf.subarray(start, start + size);
  if (crc32(payload) !== crc) return { ok: false, reason: 'CRC mismatch' };
  try {
    return { ok: true, batch: decodePayload(payload), length: RECORD_HEADER + size };
  } catch (error) {
    return { ok: false, reason: `undecodable payload: ${(error as Error).message}` };
  }
}

function decodePayload(p: Buffer): PointBatch {
  let o = 0;
  if (p.readUInt8(o) !== VERSION) throw new Error(`unknown record version ${p.readUInt8(o)}`);
  o += 1;
  const firstSeq = p.readDoubleLE(o);
  o += 8;
  const n = p.readUInt32LE(o);
  o += 4;
  const vars: string[] = [];
  o = readStrings(p, o, vars);
  const metas: string[] = [];
  o = readStrings(p, o, metas);
  const varIdx = new Uint32Array(n);
  o = readTyped(p, o, varIdx, n * 4);
  const micros = new Float64Array(n);
  o = readTyped(p, o, micros, n * 8);
  const type = new Uint8Array(n);
  o = readTyped(p, o, type, n);
  const num = new Float64Array(n);
  o = readTyped(p, o, num, n * 8);
  const metaIdx = new Uint32Array(n);
  o = readTyped(p, o, metaIdx, n * 4);
  const strs = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    if (type[i] !== T_STRING) continue;
    const len = p.readUInt32LE(o);
    o += 4;
    if (o + len > p.length) throw new Error('string past end');
    strs.set(i, p.toString('utf8', o, o + len));
    o += len;
  }
  for (let i = 0; i < n; i++) {
    if ((varIdx[i] ?? 0) >= vars.length || (metaIdx[i] ?? 0) > metas.length) throw new Error('bad index');
  }
  return { count: n, firstSeq, vars, varIdx, micros, type, num, strs, metas, metaIdx };
}

function readStrings(p: Buffer, o: number, into: string[]): number {
  const count = p.readUInt32LE(o);
  o += 4;
  for (let i = 0; i < count; i++) {
    const len = p.readUInt32LE(o);
    o += 4;
    if (o + len > p.length) throw new Error('string past end');
    into.push(p.toString('utf8', o, o + len));
    o += len;
  }
  return o;
}

function readTyped(p: Buffer, o: number, into: ArrayBufferView, bytes: number): number {
  if (o + bytes > p.length) throw new Error('column past end');
  new Uint8Array(into.buffer, into.byteOffset, bytes).set(p.subarray(o, o + bytes));
  return o + bytes;
}
