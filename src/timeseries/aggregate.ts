/** Downsampling over resolved columns: fixed buckets aligned to the epoch (UTC). */
import { parseJson } from '../util/json-parse.ts';
import { T_BOOL, T_NULL, T_NUMBER, T_STRING } from './codec.ts';
import type { Columns } from './columns.ts';
import type { BucketPartial } from './segment-aggregate.ts';
import type { AggregateFn, AggregateRow, Metadata, PointValue, StoredPoint } from './types.ts';
import { formatMicros } from './validate.ts';

/**
 * A Neumaier sum's value: the running sum plus its compensation — or the running sum alone once
 * it overflowed: the compensation of an addition that overflowed is infinite too, of the other
 * sign (-Infinity + Infinity would make NaN of a sum DuckDB gives as -Infinity).
 */
export function compensatedSum(acc: number, comp: number): number {
  return Number.isFinite(acc) ? acc + comp : acc;
}

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
 *
 * Fed window by window in time order (`add`), a bucket that spans two windows is carried over, so
 * an aggregate holds one window and its result rows, never the whole series.
 */
export class BucketAggregator {
  private readonly variable: string;
  private readonly every: number;
  private readonly fn: AggregateFn;
  private readonly numeric: boolean;
  readonly rows: AggregateRow[] = [];
  private bucket = Number.NaN;
  private count = 0;
  private acc = 0;
  /** The compensation of a running sum (see addToSum). */
  private comp = 0;
  private first: PointValue = null;
  private last: PointValue = null;

  constructor(variable: string, everyMicros: number, fn: AggregateFn) {
    this.variable = variable;
    this.every = everyMicros;
    this.fn = fn;
    this.numeric = fn === 'avg' || fn === 'min' || fn === 'max' || fn === 'sum';
  }

  add(c: Columns): void {
    const fn = this.fn;
    for (let i = 0; i < c.length; i++) {
      const t = c.micros[i] as number;
      if (!(t < this.bucket + this.every)) this.start(Math.floor(t / this.every) * this.every);
      const type = c.type[i];
      if (this.numeric) {
        if (type !== T_NUMBER) continue;
        const v = c.num[i] as number;
        if (this.count === 0) this.acc = v;
        else if (fn === 'min') this.acc = Math.min(v, this.acc);
        else if (fn === 'max') this.acc = Math.max(v, this.acc);
        else this.addToSum(v);
        this.count++;
      } else {
        if (type === T_NULL) continue;
        if (this.count === 0) this.first = valueAt(c, i);
        if (fn === 'last') this.last = valueAt(c, i);
        this.count++;
      }
    }
  }

  /**
   * Adds buckets computed elsewhere (segment-aggregate.ts), in time order and after every point
   * added so far; one that continues the open bucket is merged into it.
   */
  addPartials(partials: readonly BucketPartial[]): void {
    const fn = this.fn;
    for (const p of partials) {
      if (p.bucket !== this.bucket) this.start(p.bucket);
      if (p.count === 0) continue;
      if (this.count === 0) {
        this.acc = p.acc;
        this.first = p.first;
      } else if (fn === 'min') this.acc = Math.min(p.acc, this.acc);
      else if (fn === 'max') this.acc = Math.max(p.acc, this.acc);
      else if (this.numeric) this.addToSum(p.acc);
      this.last = p.last;
      this.count += p.count;
    }
  }

  /** Closes the open bucket (if any) and opens the one starting at `bucket`. */
  private start(bucket: number): void {
    this.flush();
    this.bucket = bucket;
  }

  /** Neumaier's compensated summation: the rounding error of each addition is kept in `comp`. */
  private addToSum(v: number): void {
    const t = this.acc + v;
    if (Math.abs(this.acc) >= Math.abs(v)) this.comp += this.acc - t + v;
    else this.comp += v - t + this.acc;
    this.acc = t;
  }

  /** The rows, the last bucket included. */
  finish(): AggregateRow[] {
    this.flush();
    return this.rows;
  }

  private flush(): void {
    if (Number.isNaN(this.bucket)) return;
    const { fn, count, acc } = this;
    let value: PointValue;
    if (fn === 'count') value = count;
    else if (fn === 'first') value = this.first;
    else if (fn === 'last') value = this.last;
    else if (count === 0) value = null;
    else if (fn === 'min' || fn === 'max') value = acc;
    else value = fn === 'avg' ? compensatedSum(acc, this.comp) / count : compensatedSum(acc, this.comp);
    const bucket = this.bucket;
    this.rows.push({
      variable: this.variable,
      bucket: formatMicros(bucket),
      bucketMicros: bucket,
      value,
      count,
    });
    this.bucket = Number.NaN;
    this.count = 0;
    this.acc = 0;
    this.comp = 0;
    this.first = null;
    this.last = null;
  }
}

/** The buckets of sorted, resolved columns (see BucketAggregator). */
export function aggregateColumns(
  variable: string,
  c: Columns,
  everyMicros: number,
  fn: AggregateFn,
): AggregateRow[] {
  const agg = new BucketAggregator(variable, everyMicros, fn);
  agg.add(c);
  return agg.finish();
}
