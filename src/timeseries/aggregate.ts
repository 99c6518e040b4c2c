/** Downsampling over resolved columns: fixed buckets aligned to the epoch (UTC). */
import { parseJson } from '../util/json-parse.ts';
import { T_BOOL, T_NULL, T_NUMBER, T_STRING } from './codec.ts';
import type { Columns } from './columns.ts';
import type { AggregateFn, AggregateRow, Metadata, PointValue, StoredPoint } from './types.ts';
import { formatMicros } from './validate.ts';

export const AGGREGATE_FNS: readonly AggregateFn[] = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'];

export function valueAt(c: Columns, i: number): PointValue {
  switch (c.type[i]) {
    case T_NUMBER:
      return c.num[i] as number;
    case T_BOOL:
      return c.num[i] === 1;
    case T_STRING:
      return c.strs[i] ?? '';
    case T_NULL:
      return null;
    default:
      return null;
  }
}

/**
 * Parses each distinct metadata JSON once per query. The objects are deep-frozen because points
 * of one result share them: a caller cannot change one point's metadata through another.
 */
export class MetadataCache {
  private readonly map = new Map<string, Metadata>();
  get(json: string): Metadata {
    let m = this.map.get(json);
    if (m === undefined) {
      m = deepFreeze(parseJson(json) as Metadata);
      if (this.map.size < 10_000) this.map.set(json, m);
    }
    return m;
  }
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

export function pointAt(variable: string, c: Columns, i: number, metas?: MetadataCache): StoredPoint {
  const micros = c.micros[i] as number;
  const m = c.metas[i];
  if (m === undefined) return { variable, timestamp: formatMicros(micros), micros, value: valueAt(c, i) };
  const metadata = metas ? metas.get(m) : (parseJson(m) as Metadata);
  return { variable, timestamp: formatMicros(micros), micros, value: valueAt(c, i), metadata };
}

/**
 * avg/min/max/sum use numeric values only (booleans, strings and nulls are skipped); count counts
 * non-null values; first/last take the earliest/latest non-null value. A bucket with points but
 * no value the function can use is reported with value null and count 0.
 */
export function aggregateColumns(
  variable: string,
  c: Columns,
  everyMicros: number,
  fn: AggregateFn,
): AggregateRow[] {
  const rows: AggregateRow[] = [];
  let i = 0;
  const numeric = fn === 'avg' || fn === 'min' || fn === 'max' || fn === 'sum';
  while (i < c.length) {
    const t0 = c.micros[i] as number;
    const bucket = Math.floor(t0 / everyMicros) * everyMicros;
    const end = bucket + everyMicros;
    let count = 0;
    let acc = 0;
    let first: PointValue = null;
    let last: PointValue = null;
    for (; i < c.length && (c.micros[i] as number) < end; i++) {
      const type = c.type[i];
      if (numeric) {
        if (type !== T_NUMBER) continue;
        const v = c.num[i] as number;
        if (count === 0) acc = v;
        else if (fn === 'min') acc = Math.min(v, acc);
        else if (fn === 'max') acc = Math.max(v, acc);
        else acc += v;
        count++;
      } else {
        if (type === T_NULL) continue;
        if (count === 0) first = valueAt(c, i);
        if (fn === 'last') last = valueAt(c, i);
        count++;
      }
    }
    let value: PointValue;
    if (fn === 'count') value = count;
    else if (fn === 'first') value = first;
    else if (fn === 'last') value = last;
    else if (count === 0) value = null;
    else value = fn === 'avg' ? acc / count : acc;
    rows.push({ variable, bucket: formatMicros(bucket), bucketMicros: bucket, value, count });
  }
  return rows;
}
