/** Segment rows read back from DuckDB into the typed columns queries use. */
import type { DuckDBResult, DuckDBResultReader } from '@duckdb/node-api';
import { quoteLiteral } from '../engine/duckdb.ts';
import type { Columns } from './columns.ts';
import type { LastPoint } from './manifest.ts';

/** The rows of a streamed segment query as columns; `expected` sizes them (grown if it is short). */
export async function readColumns(result: DuckDBResult, expected: number): Promise<Columns> {
  let size = Math.max(expected, 1);
  let micros: Float64Array<ArrayBuffer> = new Float64Array(size);
  let type = new Uint8Array(size);
  let num: Float64Array<ArrayBuffer> = new Float64Array(size);
  const strs: (string | undefined)[] = [];
  const metas: (string | undefined)[] = [];
  const strSeen = new Map<string, string>();
  const metaSeen = new Map<string, string>();
  let n = 0;
  for (
    let chunk = await result.fetchChunk();
    chunk && chunk.rowCount > 0;
    chunk = await result.fetchChunk()
  ) {
    const rows = chunk.rowCount;
    if (n + rows > size) {
      size = Math.max(n + rows, size * 2);
      micros = grow(micros, size);
      num = grow(num, size);
      const t2 = new Uint8Array(size);
      t2.set(type);
      type = t2;
    }
    const m = chunk.getColumnValues(0) as number[];
    const ty = chunk.getColumnValues(1) as number[];
    const v = chunk.getColumnValues(2) as (number | null)[];
    const s = chunk.getColumnValues(3) as (string | null)[];
    const me = chunk.getColumnValues(4) as (string | null)[];
    for (let i = 0; i < rows; i++) {
      micros[n + i] = m[i] as number;
      type[n + i] = ty[i] as number;
      num[n + i] = v[i] ?? 0;
      strs[n + i] = intern(s[i], strSeen);
      metas[n + i] = intern(me[i], metaSeen);
    }
    n += rows;
  }
  const seq = new Float64Array(n);
  for (let i = 0; i < n; i++) seq[i] = i;
  return {
    length: n,
    micros: n === size ? micros : micros.slice(0, n),
    seq,
    type: n === size ? type : type.slice(0, n),
    num: n === size ? num : num.slice(0, n),
    strs,
    metas,
  };
}

function grow(a: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

/**
 * Repeats share one string object: metadata is mostly a few distinct JSON texts repeated on every
 * row, and one object per row made a reader's memory grow with the rows it had read.
 */
function intern(s: string | null | undefined, seen: Map<string, string>): string | undefined {
  if (s === null || s === undefined) return undefined;
  const one = seen.get(s);
  if (one !== undefined) return one;
  if (seen.size < 65_536) seen.set(s, s);
  return s;
}

/** Rows [from, to) of `c`, without copying the typed arrays. */
export function rowSlice(c: Columns, from: number, to: number): Columns {
  if (from === 0 && to === c.length) return c;
  return {
    length: to - from,
    micros: c.micros.subarray(from, to),
    seq: c.seq.subarray(from, to),
    type: c.type.subarray(from, to),
    num: c.num.subarray(from, to),
    strs: c.strs.slice(from, to),
    metas: c.metas.slice(from, to),
  };
}

/** Rows of a segment file to read: all of them, or these [start, end) row ranges (ascending). */
export type RowRanges = 'all' | readonly (readonly [number, number])[];

/**
 * The read of a segment file's rows, in file order, as readColumns takes them. Ranges become a
 * filter on the row number, which DuckDB answers by reading only the row groups they lie in.
 */
export function segmentRowsSql(file: string, ranges: RowRanges): string {
  const where =
    ranges === 'all'
      ? ''
      : `WHERE ${ranges.map(([a, b]) => `(file_row_number >= ${a} AND file_row_number < ${b})`).join(' OR ')}`;
  return `SELECT epoch_us(ts)::DOUBLE AS micros, type, value, str, meta
          FROM read_parquet(${quoteLiteral(file)}, file_row_number = true, hive_partitioning = false) ${where}`;
}

/** A segment's last point (at `micros`) as one row of columns. */
export function lastPointColumns(micros: number, l: LastPoint): Columns {
  return {
    length: 1,
    micros: Float64Array.of(micros),
    seq: Float64Array.of(0),
    type: Uint8Array.of(l.type),
    num: Float64Array.of(l.num),
    strs: [l.str],
    metas: [l.meta],
  };
}

/**
 * The last row of every run of a segment file (a run per variable, so per variable), with its
 * row number: what latest() of many variables of one file needs, in one scan.
 */
export function lastRowsSql(file: string): string {
  return `SELECT file_row_number::DOUBLE AS r, type, value, str, meta
          FROM read_parquet(${quoteLiteral(file)}, file_row_number = true, hive_partitioning = false)
          QUALIFY row_number() OVER (PARTITION BY variable ORDER BY file_row_number DESC) = 1`;
}

/** The rows of lastRowsSql by row number. */
export function readLastRows(reader: DuckDBResultReader): Map<number, LastPoint> {
  const [r, type, value, str, meta] = reader.getColumnsJS() as unknown as [
    number[],
    number[],
    (number | null)[],
    (string | null)[],
    (string | null)[],
  ];
  const out = new Map<number, LastPoint>();
  for (let i = 0; i < r.length; i++) {
    const s = str[i];
    const m = meta[i];
    out.set(r[i] as number, {
      type: type[i] as number,
      num: value[i] ?? 0,
      ...(s === null || s === undefined ? {} : { str: s }),
      ...(m === null || m === undefined ? {} : { meta: m }),
    });
  }
  return out;
}
