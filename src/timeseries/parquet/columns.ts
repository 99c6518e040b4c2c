/**
 * Column encoders for writer.ts: each turns a range of rows of typed arrays into one column
 * chunk's pages. Byte-array columns are dictionary encoded (their values repeat: variable names,
 * metadata texts); doubles are too while their distinct values are few, else PLAIN.
 */
import {
  atLeast,
  Bytes,
  bitWidthOf,
  DoubleIds,
  plainByteArrays,
  plainDoubles,
  plainInt32,
  plainInt64,
  rleHybrid,
} from './encodings.ts';
import { releaseMemory } from './release.ts';
import { bool, i8, struct } from './thrift.ts';
import { type Chunk, type ColumnDef, Encoding, Physical } from './writer.ts';

const UTF8 = 0;
const TIMESTAMP_MICROS = 10;
const UINT_8 = 11;

/** Definition levels (1 = present) of rows [from, to), as a data page starts with them: length-prefixed. */
function defLevels(present: Uint32Array, from: number, to: number, out: Bytes): void {
  const at = out.n;
  out.room(4);
  out.n += 4;
  rleHybrid(present, from, to, 1, out);
  out.buf.writeUInt32LE(out.n - at - 4, at);
}

function nullsIn(present: Uint32Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (present[i] === 0) n++;
  return n;
}

/**
 * A UTF-8 byte-array column of values given by id: `ids[row]` is 1 + an index into `values`, or 0
 * for null (only when `optional`). Each chunk's dictionary holds the values it uses, in first-use
 * order. With `stats`, min and max are kept (byte order, as the format defines for UTF-8).
 */
export function dictionaryStrings(
  name: string,
  ids: Uint32Array,
  values: readonly Uint8Array[],
  optional: boolean,
  stats: boolean,
): ColumnDef {
  // Kept from chunk to chunk (a chunk's pages are views of them until the next chunk()).
  let present = new Uint32Array(0);
  let local = new Int32Array(0);
  let indices = new Uint32Array(0);
  const dict = new Bytes(1024, true);
  const data = new Bytes(1024, true);
  return {
    name,
    type: Physical.BYTE_ARRAY,
    optional,
    converted: UTF8,
    logical: struct([1, struct()]),
    release: () => releaseMemory(dict.buf, data.buf, present, local, indices),
    chunk(from, to): Chunk {
      const used: Uint8Array[] = [];
      const usedIds: number[] = [];
      // `values` may have grown since the last chunk (a caller filling row group by row group).
      if (local.length < values.length + 1)
        local = new Int32Array(Math.max(values.length + 1, local.length * 2)).fill(-1);
      indices = atLeast(indices, to - from);
      let n = 0;
      // Ids repeat row after row (a run's variable, its metadata): the last one's index is at hand.
      let lastId = 0;
      let lastL = 0;
      for (let i = from; i < to; i++) {
        const id = ids[i] as number;
        if (id === 0) continue;
        if (id === lastId) {
          indices[n++] = lastL;
          continue;
        }
        let l = local[id] as number;
        if (l < 0) {
          l = used.length;
          local[id] = l;
          used.push(values[id - 1] as Uint8Array);
          usedIds.push(id);
        }
        lastId = id;
        lastL = l;
        indices[n++] = l;
      }
      for (const id of usedIds) local[id] = -1;
      plainByteArrays(used, dict.reset());
      data.reset();
      if (optional) {
        present = atLeast(present, to - from);
        for (let i = from; i < to; i++) present[i - from] = ids[i] === 0 ? 0 : 1;
        defLevels(present, 0, to - from, data);
      }
      const width = bitWidthOf(Math.max(0, used.length - 1));
      data.byte(width);
      rleHybrid(indices, 0, n, width, data);
      const chunk: Chunk = {
        dictionary: { page: dict.done(), count: used.length },
        data: data.done(),
        encoding: Encoding.RLE_DICTIONARY,
        nulls: to - from - n,
      };
      if (stats && used.length > 0) {
        let min = used[0] as Uint8Array;
        let max = min;
        for (const u of used) {
          if (Buffer.compare(u, min) < 0) min = u;
          if (Buffer.compare(u, max) > 0) max = u;
        }
        chunk.min = Buffer.from(min);
        chunk.max = Buffer.from(max);
      }
      return chunk;
    },
  };
}

function int64Bytes(v: number): Buffer {
  const b = new Bytes(8);
  plainInt64(Float64Array.of(v), 0, 1, b);
  return b.done();
}

/** A required TIMESTAMP (µs, not adjusted to UTC: DuckDB's TIMESTAMP) column from integral doubles. */
export function timestampMicros(name: string, values: Float64Array): ColumnDef {
  const data = new Bytes(1024, true);
  return {
    release: () => releaseMemory(data.buf),
    name,
    type: Physical.INT64,
    optional: false,
    converted: TIMESTAMP_MICROS,
    logical: struct([8, struct([1, bool(false)], [2, struct([2, struct()])])]),
    chunk(from, to): Chunk {
      plainInt64(values, from, to, data.reset());
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = from; i < to; i++) {
        const v = values[i] as number;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      return {
        data: data.done(),
        encoding: Encoding.PLAIN,
        nulls: 0,
        min: int64Bytes(min),
        max: int64Bytes(max),
      };
    },
  };
}

/** A required UINT_8 column (stored as INT32, as the format does). */
export function uint8(name: string, values: Uint8Array): ColumnDef {
  const data = new Bytes(1024, true);
  return {
    release: () => releaseMemory(data.buf),
    name,
    type: Physical.INT32,
    optional: false,
    converted: UINT_8,
    logical: struct([10, struct([1, i8(8)], [2, bool(false)])]),
    chunk(from, to): Chunk {
      plainInt32(values, from, to, data.reset());
      let min = 255;
      let max = 0;
      for (let i = from; i < to; i++) {
        const v = values[i] as number;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const stat = (v: number) => {
        const b = Buffer.alloc(4);
        b.writeInt32LE(v);
        return b;
      };
      return { data: data.done(), encoding: Encoding.PLAIN, nulls: 0, min: stat(min), max: stat(max) };
    },
  };
}

/** Most distinct doubles a chunk keeps as a dictionary (and at most half its values). */
const DOUBLE_DICTIONARY = 1 << 16;

/**
 * An optional DOUBLE column: `values[row]` where `present[row]` is 1. Dictionary encoded while the
 * distinct values are few; -0 and 0 are distinct entries (a dictionary keyed by value alone would
 * return one for both). No min/max: readers treat ±0 and NaN in float statistics differently.
 */
export function optionalDoubles(name: string, values: Float64Array, present: Uint32Array): ColumnDef {
  const data = new Bytes(1024, true);
  const page = new Bytes(1024, true);
  let indices = new Uint32Array(0);
  const ids = new DoubleIds();
  return {
    release: () => {
      releaseMemory(data.buf, page.buf, indices);
      ids.release();
    },
    name,
    type: Physical.DOUBLE,
    optional: true,
    chunk(from, to): Chunk {
      defLevels(present, from, to, data.reset());
      const nulls = nullsIn(present, from, to);
      const n = to - from - nulls;
      indices = atLeast(indices, n);
      let k = 0;
      const limit = Math.min(DOUBLE_DICTIONARY, n / 2);
      ids.reset();
      const dict = ids.values;
      for (let i = from; i < to && n > 0 && dict.length <= limit; i++) {
        if (present[i] === 0) continue;
        indices[k++] = ids.id(values[i] as number);
      }
      if (n > 0 && k === n && dict.length <= limit) {
        plainDoubles(dict, page.reset());
        const width = bitWidthOf(Math.max(0, dict.length - 1));
        data.byte(width);
        rleHybrid(indices, 0, n, width, data);
        return {
          dictionary: { page: page.done(), count: dict.length },
          data: data.done(),
          encoding: Encoding.RLE_DICTIONARY,
          nulls,
        };
      }
      // PLAIN, straight from the column (no array of the present values first).
      data.room(n * 8);
      for (let i = from; i < to; i++) {
        if (present[i] !== 1) continue;
        data.buf.writeDoubleLE(values[i] as number, data.n);
        data.n += 8;
      }
      return { data: data.done(), encoding: Encoding.PLAIN, nulls };
    },
  };
}
