/**
 * Encoding log records (the format is described in codec.ts): a batch becomes one version 4
 * record, its names and metadata texts numbered by the log file's dictionary. The writer encodes
 * a record only when it knows the file the record goes to (wal.ts), in the order of the file.
 */
import { crc32 } from 'node:zlib';
import { allocateBatch, FIXED_HEADER, type PointBatch, RECORD_HEADER, T_STRING, VERSION } from './codec.ts';
import type { LogDictionary } from './log-dictionary.ts';

/**
 * The record of `b` as buffers to write in order. Adds the names and texts the file had not used
 * to `dict` (none if it throws): if the record is not written after all, the caller rolls `dict`
 * back.
 */
export function encodeRecord(b: PointBatch, dict: LogDictionary): Buffer[] {
  const mark = dict.mark();
  try {
    return b.count === 1 && !b.fixed ? [encodeSinglePoint(b, dict)] : encodeBatch(b, dict);
  } catch (error) {
    dict.rollback(mark);
    throw error;
  }
}

function encodeBatch(b: PointBatch, dict: LogDictionary): Buffer[] {
  const n = b.count;
  const fixed = b.fixed ?? copyIntoFixed(b);
  const { ids, added } = dictionaryIds(b, dict);
  // The slots served this one encoding (a batch is encoded once); dropped, they die young
  // instead of being kept, and copied by the GC, with the batch until its compaction.
  b.varSlots = undefined;
  b.metaSlots = undefined;
  b.knownIds = undefined;
  const parts = [...ids, joined(added.names, 'variable name'), joined(added.metas, 'metadata JSON')];
  if (b.strs.size > 0)
    for (let i = 0; i < n; i++) {
      if (b.type[i] !== T_STRING) continue;
      const x = Buffer.from(b.strs.get(i) ?? '');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(x.length, 0);
      parts.push(len, x);
    }
  // Without string values the parts go to the write as they are (no copy of the id list); many
  // small string parts are joined into one.
  const tail = b.strs.size > 0 ? [Buffer.concat(parts)] : parts;
  writeHeader(fixed, n, b.firstSeq);
  let crc = crc32(fixed.subarray(RECORD_HEADER));
  let tailBytes = 0;
  for (const part of tail) {
    crc = crc32(part, crc);
    tailBytes += part.length;
  }
  fixed.writeUInt32LE(fixed.length - RECORD_HEADER + tailBytes, 0);
  fixed.writeUInt32LE(crc, 4);
  return [fixed, ...tail];
}

/**
 * The record's id lists (`u32 nVars | u32 nMetas | ids`) and the entries it introduces: the ids
 * gathered at build time when the file's dictionary is still the one they are of, else assigned.
 */
function dictionaryIds(b: PointBatch, dict: LogDictionary): { ids: Buffer[]; added: AddedEntries } {
  const known = b.knownIds;
  if (known !== undefined && dict.holds(known))
    return { ids: [u32Bytes(known.vars), u32Bytes(known.metas)], added: NONE_ADDED };
  const nv = b.vars.length;
  const ids = new Uint32Array(2 + nv + b.metas.length);
  ids[0] = nv;
  ids[1] = b.metas.length;
  return { ids: [u32Bytes(ids)], added: dict.assign(b, ids, 2) };
}

type AddedEntries = { names: readonly string[]; metas: readonly string[] };
const NONE_ADDED: AddedEntries = { names: [], metas: [] };

const u32Bytes = (a: Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function writeHeader(buf: Buffer, count: number, firstSeq: number): void {
  buf.writeUInt32LE(VERSION, RECORD_HEADER); // version byte + 3 zero bytes
  buf.writeUInt32LE(count, RECORD_HEADER + 4);
  buf.writeDoubleLE(firstSeq, RECORD_HEADER + 8);
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

/** A one-point batch (the columns as plain arrays: no record memory is allocated before encoding). */
export function singlePointBatch(
  variable: string,
  micros: number,
  type: number,
  num: number,
  str: string | undefined,
  metaJson: string | undefined,
  seq: number,
): PointBatch {
  return {
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
}

const EMPTY_STRS: Map<number, string> = new Map();

/**
 * One point, one record, one allocation: the path concurrent single-point writers take, where
 * per-call overhead (not bytes) bounds throughput.
 */
function encodeSinglePoint(b: PointBatch, dict: LogDictionary): Buffer {
  const variable = b.vars[0] as string;
  const metaJson = b.metas[0];
  const str = b.type[0] === T_STRING ? (b.strs.get(0) ?? '') : undefined;
  if (variable.includes('\n') || metaJson?.includes('\n'))
    throw new Error('a variable name or metadata JSON holds a line break, which a log record cannot hold');
  const ids = new Uint32Array(2);
  const added = dict.assign(b, ids, 0);
  const newName = added.names[0];
  const newMeta = added.metas[0];
  const nameLen = newName === undefined ? 0 : Buffer.byteLength(newName);
  const metaLen = newMeta === undefined ? 0 : Buffer.byteLength(newMeta);
  const strLen = str === undefined ? 0 : Buffer.byteLength(str);
  const nm = b.metas.length;
  const payload =
    FIXED_HEADER + 25 + 8 + 4 * (1 + nm) + 8 + nameLen + 8 + metaLen + (str === undefined ? 0 : 4 + strLen);
  const buf = Buffer.allocUnsafe(RECORD_HEADER + payload);
  writeHeader(buf, 1, b.firstSeq);
  let o = RECORD_HEADER + FIXED_HEADER;
  buf.writeDoubleLE(b.micros[0] as number, o);
  buf.writeDoubleLE(b.num[0] as number, o + 8);
  buf.writeUInt32LE(0, o + 16);
  buf.writeUInt32LE(nm === 0 ? 0 : 1, o + 20);
  buf.writeUInt8(b.type[0] as number, o + 24);
  o += 25;
  buf.writeUInt32LE(1, o);
  buf.writeUInt32LE(nm, o + 4);
  buf.writeUInt32LE(ids[0] as number, o + 8);
  if (nm > 0) buf.writeUInt32LE(ids[1] as number, o + 12);
  o += 12 + 4 * nm;
  // The new entries: joined lists of one (or none).
  buf.writeUInt32LE(newName === undefined ? 0 : 1, o);
  buf.writeUInt32LE(nameLen, o + 4);
  o += 8;
  if (newName !== undefined) o += buf.write(newName, o);
  buf.writeUInt32LE(newMeta === undefined ? 0 : 1, o);
  buf.writeUInt32LE(metaLen, o + 4);
  o += 8;
  if (newMeta !== undefined) o += buf.write(newMeta, o);
  if (str !== undefined) {
    buf.writeUInt32LE(strLen, o);
    o += 4 + buf.write(str, o + 4);
  }
  if (o !== RECORD_HEADER + payload)
    throw new Error(`single-point record size mismatch (${o} ≠ ${RECORD_HEADER + payload})`);
  buf.writeUInt32LE(payload, 0);
  buf.writeUInt32LE(crc32(buf.subarray(RECORD_HEADER, o)), 4);
  return buf;
}

function copyIntoFixed(b: PointBatch): Buffer {
  const a = allocateBatch(b.count);
  a.micros.set(Array.from(b.micros));
  a.num.set(Array.from(b.num));
  a.varIdx.set(Array.from(b.varIdx));
  a.metaIdx.set(Array.from(b.metaIdx));
  a.type.set(Array.from(b.type));
  return a.fixed;
}

/**
 * About the bytes of `b`'s record (the group-commit size bound): names and texts counted at 16
 * bytes each, whether the file's dictionary holds them or not.
 */
export function recordBytesEstimate(b: PointBatch): number {
  let strings = 0;
  if (b.strs.size > 0) for (const s of b.strs.values()) strings += 4 + s.length;
  return RECORD_HEADER + FIXED_HEADER + 25 * b.count + 16 * (b.vars.length + b.metas.length) + strings;
}
