/**
 * The write-ahead log's record format: one record per acknowledged batch, columnar inside so a
 * batch encodes with no per-point serialisation. The fixed-width columns are written by
 * validation straight into the record's own memory (one allocation per batch), so encoding adds
 * only the header, the names and the CRC.
 *
 *   record  = u32 payloadLength | u32 crc32(payload) | payload
 *   payload = u8 version(3) | 3 × u8 0 | u32 count | f64 firstSeq
 *           | f64[count] micros | f64[count] number | u32[count] varIndex
 *           | u32[count] metaIndex (0 = none, i + 1 otherwise) | u8[count] type
 *           | u32 nVars  | u32 bytes | utf8 names joined by "\n"       variable names used in the batch
 *           | u32 nMetas | u32 bytes | utf8 JSON texts joined by "\n"  distinct metadata of the batch
 *           | for each string-typed point in order: u32 len | utf8
 *
 * Names and JSON texts are joined rather than each length-prefixed: a batch of 10,000 variables
 * lists 10,000 of each, and one join and one UTF-8 encoding cost a fraction of 20,000 small
 * buffers. Neither can hold a line break (names refuse control characters; JSON.stringify escapes
 * them), which encoding checks. Version 2 records (each text length-prefixed) are still read.
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
  varIdx: ArrayLike<number>;
  micros: ArrayLike<number>;
  type: ArrayLike<number>;
  num: ArrayLike<number>;
  /** Strings by point index (only string-typed points have one). */
  strs: Map<number, string>;
  metas: string[];
  metaIdx: ArrayLike<number>;
  /** Record header + fixed part, when the columns above are views into it (fresh batches). */
  fixed?: Buffer;
}

/** A batch being built: its columns are typed arrays over the record's memory. */
export interface FreshBatch extends PointBatch {
  varIdx: Uint32Array;
  micros: Float64Array;
  type: Uint8Array;
  num: Float64Array;
  metaIdx: Uint32Array;
  fixed: Buffer;
}

export const RECORD_HEADER = 8;
const VERSION = 3;
/** The record version before names and JSON texts were joined; still read. */
const VERSION_PREFIXED = 2;
const FIXED_HEADER = 16;
const COLUMNS_AT = RECORD_HEADER + FIXED_HEADER;

/** Allocates the columns of an n-point batch as views into the memory of its future record. */
export function allocateBatch(n: number): FreshBatch {
  // Its own ArrayBuffer (offset 0), so the f64 columns at offset 24 are 8-byte aligned.
  const ab = new ArrayBuffer(COLUMNS_AT + n * 25);
  return {
    count: n,
    firstSeq: 0,
    vars: [],
    micros: new Float64Array(ab, COLUMNS_AT, n),
    num: new Float64Array(ab, COLUMNS_AT + 8 * n, n),
    varIdx: new Uint32Array(ab, COLUMNS_AT + 16 * n, n),
    metaIdx: new Uint32Array(ab, COLUMNS_AT + 20 * n, n),
    type: new Uint8Array(ab, COLUMNS_AT + 24 * n, n),
    strs: new Map(),
    metas: [],
    fixed: Buffer.from(ab),
  };
}

/** The record as buffers to write in order (fixed part, then names and strings). */
export function encodeBatch(b: PointBatch): Buffer[] {
  const n = b.count;
  const fixed = b.fixed ?? copyIntoFixed(b);
  const parts = [joined(b.vars, 'variable name'), joined(b.metas, 'metadata JSON')];
  if (b.strs.size > 0)
    for (let i = 0; i < n; i++) {
      if (b.type[i] !== T_STRING) continue;
      const x = Buffer.from(b.strs.get(i) ?? '');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(x.length, 0);
      parts.push(len, x);
    }
  const tail = Buffer.concat(parts);
  fixed.writeUInt8(VERSION, RECORD_HEADER);
  fixed.writeUInt8(0, RECORD_HEADER + 1);
  fixed.writeUInt16LE(0, RECORD_HEADER + 2);
  fixed.writeUInt32LE(n, RECORD_HEADER + 4);
  fixed.writeDoubleLE(b.firstSeq, RECORD_HEADER + 8);
  fixed.writeUInt32LE(fixed.length - RECORD_HEADER + tail.length, 0);
  fixed.writeUInt32LE(crc32(tail, crc32(fixed.subarray(RECORD_HEADER))), 4);
  return [fixed, tail];
}

/** `u32 count | u32 bytes | utf8 texts joined by "\n"`; a text holding a line break is refused. */
function joined(texts: readonly string[], what: string): Buffer {
  const text = texts.join('\n');
  let breaks = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) breaks++;
  if (texts.length > 0 && breaks !== texts.length - 1)
    throw new Error(`a ${what} holds a line break, which a log record cannot hold`);
  const bytes = Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(8 + bytes);
  out.writeUInt32LE(texts.length, 0);
  out.writeUInt32LE(bytes, 4);
  out.write(text, 8);
  return out;
}

/**
 * One point, one record, one allocation: the path concurrent single-point writers take, where
 * per-call overhead (not bytes) bounds throughput.
 */
export function encodeSinglePoint(
  variable: string,
  micros: number,
  type: number,
  num: number,
  str: string | undefined,
  metaJson: string | undefined,
  seq: number,
): { batch: PointBatch; bufs: Buffer[] } {
  const varLen = Buffer.byteLength(variable);
  const metaLen = metaJson === undefined ? 0 : Buffer.byteLength(metaJson);
  const strLen = str === undefined ? 0 : Buffer.byteLength(str);
  if (variable.includes('\n') || metaJson?.includes('\n'))
    throw new Error('a variable name or metadata JSON holds a line break, which a log record cannot hold');
  const payload = FIXED_HEADER + 25 + 8 + varLen + 8 + metaLen + (str === undefined ? 0 : 4 + strLen);
  const buf = Buffer.allocUnsafe(RECORD_HEADER + payload);
  let o = RECORD_HEADER;
  buf.writeUInt32LE(VERSION, o); // version byte + 3 zero bytes
  buf.writeUInt32LE(1, o + 4);
  buf.writeDoubleLE(seq, o + 8);
  o += FIXED_HEADER;
  buf.writeDoubleLE(micros, o);
  buf.writeDoubleLE(num, o + 8);
  buf.writeUInt32LE(0, o + 16);
  buf.writeUInt32LE(metaJson === undefined ? 0 : 1, o + 20);
  buf.writeUInt8(type, o + 24);
  o += 25;
  buf.writeUInt32LE(1, o);
  buf.writeUInt32LE(varLen, o + 4);
  o += 8 + buf.write(variable, o + 8);
  // The one name and the one JSON text: joined lists of one (or none).
  buf.writeUInt32LE(metaJson === undefined ? 0 : 1, o);
  buf.writeUInt32LE(metaLen, o + 4);
  o += 8;
  if (metaJson !== undefined) o += buf.write(metaJson, o);
  if (str !== undefined) {
    buf.writeUInt32LE(strLen, o);
    o += 4 + buf.write(str, o + 4);
  }
  if (o !== RECORD_HEADER + payload)
    throw new Error(`single-point record size mismatch (${o} ≠ ${RECORD_HEADER + payload})`);
  buf.writeUInt32LE(payload, 0);
  buf.writeUInt32LE(crc32(buf.subarray(RECORD_HEADER, o)), 4);
  const batch: PointBatch = {
    count: 1,
    firstSeq: seq,
    vars: [variable],
    varIdx: [0],
    micros: [micros],
    type: [type],
    num: [num],
    strs: str === undefined ? EMPTY_STRS : new Map([[0, str]]),
    metas: metaJson === undefined ? [] : [metaJson],
    metaIdx: [metaJson === undefined ? 0 : 1],
  };
  return { batch, bufs: [buf] };
}

const EMPTY_STRS: Map<number, string> = new Map();

function copyIntoFixed(b: PointBatch): Buffer {
  const a = allocateBatch(b.count);
  a.micros.set(Array.from(b.micros));
  a.num.set(Array.from(b.num));
  a.varIdx.set(Array.from(b.varIdx));
  a.metaIdx.set(Array.from(b.metaIdx));
  a.type.set(Array.from(b.type));
  return a.fixed;
}

export type DecodeResult = { ok: true; batch: PointBatch; length: number } | { ok: false; reason: string };

/** Decodes the record at `offset`; a short or CRC-bad record is reported, never thrown. */
export function decodeRecord(buf: Buffer, offset: number): DecodeResult {
  if (buf.length - offset < RECORD_HEADER) return { ok: false, reason: 'short header' };
  const size = buf.readUInt32LE(offset);
  const crc = buf.readUInt32LE(offset + 4);
  const start = offset + RECORD_HEADER;
  if (size < FIXED_HEADER + 8 || start + size > buf.length) return { ok: false, reason: 'short record' };
  const payload = buf.subarray(start, start + size);
  if (crc32(payload) !== crc) return { ok: false, reason: 'CRC mismatch' };
  try {
    return { ok: true, batch: decodePayload(payload), length: RECORD_HEADER + size };
  } catch (error) {
    return { ok: false, reason: `undecodable payload: ${(error as Error).message}` };
  }
}

function decodePayload(p: Buffer): PointBatch {
  const version = p.readUInt8(0);
  if (version !== VERSION && version !== VERSION_PREFIXED)
    throw new Error(`unknown record version ${version}`);
  const readTexts = version === VERSION ? readJoined : readStrings;
  const n = p.readUInt32LE(4);
  const firstSeq = p.readDoubleLE(8);
  let o = FIXED_HEADER;
  if (o + n * 25 > p.length) throw new Error('columns past end');
  // Records sit at any offset in a log file: copy the columns into aligned arrays.
  const micros = new Float64Array(n);
  o = readTyped(p, o, micros, n * 8);
  const num = new Float64Array(n);
  o = readTyped(p, o, num, n * 8);
  const varIdx = new Uint32Array(n);
  o = readTyped(p, o, varIdx, n * 4);
  const metaIdx = new Uint32Array(n);
  o = readTyped(p, o, metaIdx, n * 4);
  const type = new Uint8Array(n);
  o = readTyped(p, o, type, n);
  const vars: string[] = [];
  o = readTexts(p, o, vars);
  const metas: string[] = [];
  o = readTexts(p, o, metas);
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

function readJoined(p: Buffer, o: number, into: string[]): number {
  const count = p.readUInt32LE(o);
  const bytes = p.readUInt32LE(o + 4);
  o += 8;
  if (o + bytes > p.length) throw new Error('texts past end');
  if (count === 0) {
    if (bytes !== 0) throw new Error('texts without a count');
    return o;
  }
  const texts = p.toString('utf8', o, o + bytes).split('\n');
  if (texts.length !== count) throw new Error(`${texts.length} texts where the record says ${count}`);
  for (const t of texts) into.push(t);
  return o + bytes;
}

function readTyped(p: Buffer, o: number, into: ArrayBufferView, bytes: number): number {
  if (o + bytes > p.length) throw new Error('column past end');
  new Uint8Array(into.buffer, into.byteOffset, bytes).set(p.subarray(o, o + bytes));
  return o + bytes;
}
