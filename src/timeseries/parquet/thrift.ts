/**
 * Thrift compact protocol, write side only: what a Parquet footer and page headers need (structs,
 * lists, i8/i32/i64, bool, binary). Values are built declaratively (`struct([1, i32(5)], …)`) and
 * encoded in one pass; an omitted optional field is a field whose value is undefined.
 */

import { Bytes } from './encodings.ts';

/** Compact-protocol type codes. */
const Code = { TRUE: 1, FALSE: 2, I8: 3, I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;
type Code = (typeof Code)[keyof typeof Code];

export type TValue =
  | { k: 'i8' | 'i32' | 'i64'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'bin'; v: Uint8Array | string }
  | { k: 'struct'; v: TField[] }
  | { k: 'list'; elem: 'i32' | 'bin' | 'struct'; v: TValue[] };

/** A struct field: its id and value (undefined: an optional field left out). */
export type TField = [number, TValue | undefined];

export const i8 = (v: number): TValue => ({ k: 'i8', v });
export const i32 = (v: number): TValue => ({ k: 'i32', v });
/** An i64 given as a JS number: exact up to 2^53, which every size, offset and µs here is. */
export const i64 = (v: number): TValue => ({ k: 'i64', v });
export const bool = (v: boolean): TValue => ({ k: 'bool', v });
export const bin = (v: Uint8Array | string): TValue => ({ k: 'bin', v });
export const struct = (...v: TField[]): TValue => ({ k: 'struct', v });
export const list = (elem: 'i32' | 'bin' | 'struct', v: TValue[]): TValue => ({ k: 'list', elem, v });

/** Zigzag varint, as the compact protocol writes i16/i32/i64 (exact below 2^53). */
function zigzag(out: Bytes, v: number): void {
  out.varint(v >= 0 ? v * 2 : -v * 2 - 1);
}

function code(v: TValue): Code {
  switch (v.k) {
    case 'i8':
      return Code.I8;
    case 'i32':
      return Code.I32;
    case 'i64':
      return Code.I64;
    case 'bool':
      return v.v ? Code.TRUE : Code.FALSE;
    case 'bin':
      return Code.BINARY;
    case 'list':
      return Code.LIST;
    case 'struct':
      return Code.STRUCT;
  }
}

const ELEM: Record<'i32' | 'bin' | 'struct', Code> = { i32: Code.I32, bin: Code.BINARY, struct: Code.STRUCT };

function value(out: Bytes, v: TValue): void {
  switch (v.k) {
    case 'i8':
      out.byte(v.v & 0xff);
      return;
    case 'i32':
    case 'i64':
      zigzag(out, v.v);
      return;
    case 'bool':
      return; // in a field header (lists of bools are not needed here)
    case 'bin': {
      const b = typeof v.v === 'string' ? Buffer.from(v.v) : v.v;
      out.varint(b.length);
      out.bytes(b);
      return;
    }
    case 'list': {
      const size = v.v.length;
      if (size < 15) out.byte((size << 4) | ELEM[v.elem]);
      else {
        out.byte(0xf0 | ELEM[v.elem]);
        out.varint(size);
      }
      for (const e of v.v) value(out, e);
      return;
    }
    case 'struct': {
      let last = 0;
      for (const [id, f] of v.v) {
        if (f === undefined) continue;
        const delta = id - last;
        if (delta > 0 && delta <= 15) out.byte((delta << 4) | code(f));
        else {
          out.byte(code(f));
          zigzag(out, id);
        }
        value(out, f);
        last = id;
      }
      out.byte(0);
      return;
    }
  }
}

/** The compact-protocol bytes of a struct. */
export function encodeStruct(...fields: TField[]): Buffer {
  const out = new Bytes(256);
  value(out, { k: 'struct', v: fields });
  return out.done();
}
