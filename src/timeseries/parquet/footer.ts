/**
 * Reads one key's value from a Parquet file's footer (FileMetaData.key_value_metadata) without
 * reading any page: the file's last 8 bytes give the footer's length, a Thrift compact-protocol
 * walk skips every other field. What the segment writer stores there (segment-last-rows.ts) is
 * then read in a millisecond where DuckDB scans the whole file.
 */
import * as fsp from 'node:fs/promises';

/** Compact-protocol type codes (thrift.ts writes the same). */
export const T = {
  TRUE: 1,
  FALSE: 2,
  I8: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

/** A footer that does not parse: the caller names the file. */
export class BadFooterError extends Error {}

/** A Thrift compact-protocol reader over a buffer; every read is bounds-checked (BadFooterError). */
export class In {
  at = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  byte(): number {
    if (this.at >= this.buf.length) throw new BadFooterError('the footer ends early');
    return this.buf[this.at++] as number;
  }
  /** An unsigned LEB128 below 2^53 (lengths and sizes). */
  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
      if (mul > 2 ** 56) throw new BadFooterError('a varint is too long');
    }
  }
  /** A zigzag i16/i32/i64 (exact below 2^53 in magnitude). */
  int(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  bytes(): Buffer {
    const n = this.varint();
    if (this.at + n > this.buf.length) throw new BadFooterError('a binary field ends past the footer');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  /** The next field's id and type, or undefined at the struct's end. */
  field(last: number): { id: number; type: number } | undefined {
    const h = this.byte();
    if (h === 0) return undefined;
    const delta = h >> 4;
    const type = h & 0x0f;
    if (delta !== 0) return { id: last + delta, type };
    const z = this.varint();
    return { id: z % 2 === 0 ? z / 2 : -(z + 1) / 2, type };
  }
  listHeader(): { size: number; type: number } {
    const h = this.byte();
    const size = h >> 4;
    return { size: size === 15 ? this.varint() : size, type: h & 0x0f };
  }
  skip(type: number, depth = 0): void {
    if (depth > 64) throw new BadFooterError('the footer nests too deep');
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        return; // in the field header (a list element's byte is skipped by the list)
      case T.I8:
        this.byte();
        return;
      case T.I16:
      case T.I32:
      case T.I64:
        while (this.byte() >= 0x80);
        return;
      case T.DOUBLE:
        this.at += 8;
        return;
      case T.BINARY:
        this.bytes();
        return;
      case T.LIST:
      case T.SET: {
        const { size, type: elem } = this.listHeader();
        for (let i = 0; i < size; i++) {
          if (elem === T.TRUE || elem === T.FALSE) this.byte();
          else this.skip(elem, depth + 1);
        }
        return;
      }
      case T.MAP: {
        const size = this.varint();
        if (size === 0) return;
        const kv = this.byte();
        for (let i = 0; i < size; i++) {
          this.skip(kv >> 4, depth + 1);
          this.skip(kv & 0x0f, depth + 1);
        }
        return;
      }
      case T.STRUCT: {
        let last = 0;
        for (let f = this.field(last); f; f = this.field(last)) {
          this.skip(f.type, depth + 1);
          last = f.id;
        }
        return;
      }
      default:
        throw new BadFooterError(`unknown Thrift type ${type}`);
    }
  }
}

/** The value of `key` in a FileMetaData struct's key_value_metadata (field 5), or undefined. */
export function keyValueOf(footer: Buffer, key: string): Buffer | undefined {
  const r = new In(footer);
  const wanted = Buffer.from(key);
  let last = 0;
  for (let f = r.field(last); f; f = r.field(last)) {
    last = f.id;
    if (f.id !== 5 || f.type !== T.LIST) {
      r.skip(f.type);
      continue;
    }
    const { size } = r.listHeader();
    for (let i = 0; i < size; i++) {
      let k: Buffer | undefined;
      let v: Buffer | undefined;
      let kvLast = 0;
      for (let g = r.field(kvLast); g; g = r.field(kvLast)) {
        kvLast = g.id;
        if (g.id === 1 && g.type === T.BINARY) k = r.bytes();
        else if (g.id === 2 && g.type === T.BINARY) v = r.bytes();
        else r.skip(g.type);
      }
      if (k?.equals(wanted)) return v;
    }
  }
  return undefined;
}

/** The footer (FileMetaData bytes) of the Parquet file at `file`. */
export async function readFooter(file: string): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    return (await footerOf(fh)).footer;
  } finally {
    await fh.close();
  }
}

/** The footer of the open Parquet file `fh`, and where it starts (the end of its row groups). */
export async function footerOf(fh: fsp.FileHandle): Promise<{ footer: Buffer; at: number }> {
  const { size } = await fh.stat();
  if (size < 12) throw new BadFooterError(`it has ${size} bytes, too few for a Parquet file`);
  const tail = Buffer.alloc(8);
  await fh.read(tail, 0, 8, size - 8);
  if (tail.toString('latin1', 4) !== 'PAR1') throw new BadFooterError('it does not end in PAR1');
  const len = tail.readUInt32LE(0);
  if (len > size - 12) throw new BadFooterError(`its footer length ${len} exceeds the file`);
  const footer = Buffer.alloc(len);
  const { bytesRead } = await fh.read(footer, 0, len, size - 8 - len);
  if (bytesRead !== len) throw new BadFooterError('the file ends inside its footer');
  return { footer, at: size - 8 - len };
}
