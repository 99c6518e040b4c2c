/**
 * A window's buckets computed by DuckDB over its segment files, so a window that only segments
 * hold reaches JS as its buckets, not its rows. Decoding rows cost a reader memory far beyond
 * its result: each 2,048-row chunk handed to JS holds native memory until the garbage collector
 * gets to its wrapper, which V8 does not know is large (a 1-minute average over 2M points peaked
 * at 180 MB where the open store alone takes 127).
 *
 * The rules are BucketAggregator's (aggregate.ts): numeric functions use numbers only (type 1),
 * count/first/last any non-null value, first/last in file order (segments are stored sorted), sums
 * compensated on both sides (DuckDB's fsum; Neumaier's in JS). The two are not bit for bit the
 * same: a sum or average may differ from the in-memory path's in its last digit (relative 1e-15);
 * DuckDB's fsum does not expose its error term, which would let a bucket split over two windows
 * add up exactly.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../engine/duckdb.ts';
import { T_BOOL, T_NULL, T_NUMBER, T_STRING } from './codec.ts';
import type { AggregateFn, PointValue } from './types.ts';

/** One bucket's state: what BucketAggregator keeps while it fills a bucket. */
export interface BucketPartial {
  /** Bucket start, µs. */
  bucket: number;
  /** Values the function counts (numbers for avg/min/max/sum, non-null values otherwise). */
  count: number;
  /** Sum, minimum or maximum of those values (numeric functions). */
  acc: number;
  first: PointValue;
  last: PointValue;
}

const NUMERIC = `type = ${T_NUMBER}`;
const NON_NULL = `type <> ${T_NULL}`;

function accumulator(fn: AggregateFn): string {
  switch (fn) {
    case 'avg':
    case 'sum': {
      // fsum's compensation turns a sum that overflows into NaN in some orders (+Infinity plus
      // -Infinity): the plain sum then, ±Infinity, as the JS side gives (aggregate.ts compensatedSum).
      const fsum = `fsum(value) FILTER (WHERE ${NUMERIC})`;
      return `CASE WHEN isnan(${fsum}) THEN sum(value) FILTER (WHERE ${NUMERIC}) ELSE ${fsum} END`;
    }
    case 'min':
      return `min(value) FILTER (WHERE ${NUMERIC})`;
    case 'max':
      return `max(value) FILTER (WHERE ${NUMERIC})`;
    default:
      return '0::DOUBLE';
  }
}

/** `first(x ORDER BY ts, row)` (or last) over non-null values, for the type, number and string columns. */
function picks(fn: AggregateFn): string {
  if (fn !== 'first' && fn !== 'last') return 'NULL::UTINYINT, NULL::DOUBLE, NULL::VARCHAR';
  return (
    ['type', 'value', 'str']
      // Segments of a window never overlap in time, so (ts, row in file) is the points' order.
      .map((c) => `${fn}(${c} ORDER BY ts, file_row_number) FILTER (WHERE ${NON_NULL})`)
      .join(', ')
  );
}

/** A segment file to aggregate over, and the rows of it that are the variable's (all when absent). */
export interface BucketSource {
  file: string;
  range?: readonly [number, number];
}

/** The query of the buckets in [lo, hi) µs of a window's segment files, ordered by bucket. */
export function segmentBucketsSql(
  sources: readonly BucketSource[],
  lo: number,
  hi: number,
  everyMicros: number,
  fn: AggregateFn,
): string {
  const counted = fn === 'avg' || fn === 'sum' || fn === 'min' || fn === 'max' ? NUMERIC : NON_NULL;
  const bucket = `floor(epoch_us(ts)::DOUBLE / ${everyMicros}::DOUBLE) * ${everyMicros}::DOUBLE`;
  const inTime = `ts >= make_timestamp(${Math.trunc(lo)}::BIGINT) AND ts < make_timestamp(${Math.trunc(hi)}::BIGINT)`;
  // One scan per file, each with its run's rows (DuckDB reads only the row groups they lie in).
  const scans = sources.map(({ file, range }) => {
    const rows = range ? ` AND file_row_number >= ${range[0]} AND file_row_number < ${range[1]}` : '';
    return `SELECT ts, type, value, str, file_row_number
      FROM read_parquet(${quoteLiteral(file)}, file_row_number = true, hive_partitioning = false)
      WHERE ${inTime}${rows}`;
  });
  // Buckets in double arithmetic, as Math.floor(t / every) * every computes them in JS.
  return `
    SELECT ${bucket} AS b, (count(*) FILTER (WHERE ${counted}))::DOUBLE AS n, ${accumulator(fn)} AS acc, ${picks(fn)}
    FROM (${scans.join(' UNION ALL ')})
    GROUP BY b ORDER BY b`;
}

function pointValue(type: number | null, num: number | null, str: string | null): PointValue {
  if (type === T_NUMBER) return num;
  if (type === T_BOOL) return num === 1;
  if (type === T_STRING) return str ?? '';
  return null;
}

/** Runs the query of segmentBucketsSql; the result is as small as its buckets. */
export async function readSegmentBuckets(conn: DuckDBConnection, sql: string): Promise<BucketPartial[]> {
  const reader = await conn.runAndReadAll(sql);
  // No rows in the range: DuckDB gives no columns at all (not empty ones).
  if (reader.currentRowCount === 0) return [];
  const [b, n, acc, type, num, str] = reader.getColumnsJS() as [
    number[],
    number[],
    (number | null)[],
    (number | null)[],
    (number | null)[],
    (string | null)[],
  ];
  const out = new Array<BucketPartial>(b.length);
  for (let i = 0; i < b.length; i++) {
    const v = pointValue(type[i] ?? null, num[i] ?? null, str[i] ?? null);
    out[i] = {
      bucket: b[i] as number,
      count: n[i] as number,
      acc: acc[i] ?? 0,
      first: v,
      last: v,
    };
  }
  return out;
}
