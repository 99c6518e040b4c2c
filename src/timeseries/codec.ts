/**
 * The write-ahead log's record format: one record per acknowledged batch, columnar inside so a
 * batch encodes with no per-point serialisation. The fixed-width columns are written by
 * validation straight into the record's own memory (one allocation per batch), so encoding adds
 * only the header, the dictionary numbers, new names and the CRC (record-encode.ts).
 *
 *   record  = u32 payloadLength | u32 crc32(payload) | payload
 *   payload = u8 version(4) | 3 × u8 0 | u32 count | f64 firstSeq
 *           | f64[count] micros | f64[count] number | u32[count] varIndex
 *           | u32[count] metaIndex (0 = none, i + 1 otherwise) | u8[count] type
 *           | u32 nVars | u32 nMetas | u32[nVars] name ids | u32[nMetas] text ids
 *           | u32 nNew | u32 bytes | utf8 names joined by "\n"        names the file's records before did not use
 *           | u32 nNew | u32 bytes | utf8 JSON texts joined by "\n"   metadata texts ditto
 *           | for each string-typed point in order: u32 len | utf8
 *
 * varIndex and metaIndex number the batch's own lists (vars, metas), whose entries are ids into
 * the log file's dictionary (log-dictionary.ts): each name and metadata text is written once per
 * log file, in the first record that uses it, and gets the next id. A batch of 10,000 variables
 * then costs 8 bytes a point of names and metadata instead of 60. Decoding a version 4 record
 * needs the dictionary of the records before it in its file; a torn record adds nothing to it.
 *
 * Names and JSON texts are joined rather than each length-prefixed (one join and one UTF-8
 * encoding cost a fraction of many small buffers); neither can hold a line break (names refuse
 * control characters; JSON.stringify escapes them), which encoding checks.
 *
 * Earlier versions are still read, so a log written before an upgrade replays: version 3 lists
 * the batch's names and texts themselves (joined, in place of the id lists and new entries) and
 * version 2 length-prefixes each of them.
 *
 * A record that is short or fails its CRC is a torn write: recovery stops there.
 */
import { crc32 } from 'node:zlib';
import type { DictionarySlot, KnownIds, LogDictionary } from './log-dictionary.ts';

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
  /**
   * Fresh batches: where the writer keeps the log dictionary id of each of `vars` and `metas`;
   * dropped once the batch is encoded.
   */
  varSlots?: DictionarySlot[];
  metaSlots?: (DictionarySlot | undefined)[];
  /** Fresh batches: the dictionary ids of `vars` and `metas`, when every one was known at build. */
  knownIds?: KnownIds | undefined;
}

/** A batch being built: its columns are typed arrays over the record's memory. */
export interface FreshBatch extends PointBatch {
  varIdx: Uint32Array;
  micros: Float64Array;
  type: Uint8Array;
  num: Float64Array;
  metaIdx: Uint32Array;
  fixed: Buffer;
  varSlots: DictionarySlot[] | undefined;
  metaSlots: (DictionarySlot | undefined)[] | undefined;
}

export const RECORD_HEADER = 8;
/** The version records are written in: names and texts by the log file's dictionary. */
export const VERSION = 4;
/** The version before the dictionary: each record lists its names and texts, joined; still read. */
const VERSION_JOINED = 3;
/** The version before names and JSON texts were joined; still read. */
const VERSION_PREFIXED = 2;
export const FIXED_HEADER = 16;
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
    varSlots: undefined,
    metaSlots: undefined,
    knownIds: undefined,
  };
}

/**
 * `intact`: the record is whole (its length fits and its CRC holds) yet cannot be read — a version
 * this sluice does not know (a newer sluice wrote it) or a payload that contradicts itself. Unlike
 * a torn tail it must never be truncated: that would drop points a newer sluice made durable.
 */
export type DecodeResult =
  | { ok: true; batch: PointBatch; length: number }
  | { ok: false; reason: string; intact?: true };

/**
 * Decodes the record at `offset`; a short or CRC-bad record is reported, never thrown. `dict` is
 * the dictionary of the records before it in its file (version 4 records need it); the entries
 * the record introduces are added to it once the whole record is decoded.
 */
export function decodeRecord(buf: Buffer, offset: number, dict?: LogDictionary): DecodeResult {
  if (buf.length - offset < RECORD_HEADER) return { ok: false, reason: 'short header' };
  const size = buf.readUInt32LE(offset);
  const crc = buf.readUInt32LE(offset + 4);
  const start = offset + RECORD_HEADER;
  if (size < FIXED_HEADER + 8 || start + size > buf.length) return { ok: false, reason: 'short record' };
  const payload = buf.subarray(start, start + size);
  if (crc32(payload) !== crc) return { ok: false, reason: 'CRC mismatch' };
  try {
    return { ok: true, batch: decodePayload(payload, dict), length: RECORD_HEADER + size };
  } catch (error) {
    return { ok: false, reason: `undecodable payload: ${(error as Error).message}`, intact: true };
  }
}

function decodePayload(p: Buffer, dict: LogDictionary | undefined): PointBatch {
  const version = p.readUInt8(0);
  if (version !== VERSION && version !== VERSION_JOINED && version !== VERSION_PREFIXED)
    throw new Error(
      `unknown record version ${version} (this sluice reads 2 to ${VERSION}: a newer sluice wrote it)`,
    );
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
  const metas: string[] = [];
  const added = { names: [] as string[], metas: [] as string[] };
  if (version === VERSION) {
    if (!dict) throw new Error('a version 4 record read without its log file’s dictionary');
    o = readByDictionary(p, o, dict, { vars, metas }, added);
  } else {
    const readTexts = version === VERSION_JOINED ? readJoined : readStrings;
    o = readTexts(p, o, vars);
    o = readTexts(p, o, metas);
  }
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
  dict?.add(added.names, added.metas);
  return { count: n, firstSeq, vars, varIdx, micros, type, num, strs, metas, metaIdx };
}

/**
 * The id lists and new entries of a version 4 record: fills the batch's `vars` and `metas` from
 * the dictionary and the new entries (`added`, which the caller adds to the dictionary once the
 * whole record is read).
 */
function readByDictionary(
  p: Buffer,
  o: number,
  dict: LogDictionary,
  into: { vars: string[]; metas: string[] },
  added: { names: string[]; metas: string[] },
): number {
  if (o + 8 > p.length) throw new Error('id lists past end');
  const nv = p.readUInt32LE(o);
  const nm = p.readUInt32LE(o + 4);
  o += 8;
  const ids = new Uint32Array(nv + nm);
  o = readTyped(p, o, ids, 4 * (nv + nm));
  o = readJoined(p, o, added.names);
  o = readJoined(p, o, added.metas);
  const entry = (list: readonly string[], fresh: readonly string[], id: number, what: string) => {
    const s = id < list.length ? list[id] : fresh[id - list.length];
    if (s === undefined) throw new Error(`${what} id ${id} is not in the log file's dictionary`);
    return s;
  };
  for (let k = 0; k < nv; k++) into.vars.push(entry(dict.names, added.names, ids[k] as number, 'name'));
  for (let k = nv; k < nv + nm; k++)
    into.metas.push(entry(dict.metas, added.metas, ids[k] as number, 'metadata'));
  return o;
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
