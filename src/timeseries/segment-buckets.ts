/**
 * A window's buckets computed in JS from its segment files (parquet/segment-reader.ts), so a cold
 * aggregate reads only the row groups and columns it needs and never starts DuckDB, which took
 * longer to start than the whole query takes here. The partials are those segment-aggregate.ts
 * gets from DuckDB, by BucketAggregator's rules (aggregate.ts): numeric functions use numbers only,
 * count/first/last any non-null value, first/last in file order, sums compensated (Neumaier's;
 * a partial's acc is the compensated sum). Files this reader does not decode (written by DuckDB
 * COPY) give undefined: the caller asks DuckDB.
 */
import { TimeSeriesError } from '../errors.ts';
import { compensatedSum } from './aggregate.ts';
import { T_BOOL, T_NULL, T_NUMBER, T_STRING } from './codec.ts';
import { BadFooterError } from './parquet/footer.ts';
import { MalformedParquetError, type Pages, UnsupportedParquetError } from './parquet/page-read.ts';
import {
  doubleRows,
  int32Rows,
  int64Words,
  SegmentFileReader,
  stringRows,
} from './parquet/segment-reader.ts';
import type { BucketPartial } from './segment-aggregate.ts';
import type { AggregateFn, PointValue } from './types.ts';

/** A segment file, the rows of it that are the variable's (all when absent), and its name for errors. */
export interface SegmentSource {
  file: string;
  range?: readonly [number, number];
  name: string;
}

/** Rows out of time order across files: the caller asks DuckDB, which sorts. */
class OutOfOrder extends Error {}

/** Rows of one row group, as decoded (parquet/segment-reader.ts). */
interface Rows {
  /** µs timestamps as int64 words (int64Words). */
  ts: Uint32Array;
  type: Int32Array;
  num?: Float64Array;
  /** Undefined: every row has a value. */
  present?: Uint8Array;
  str?: (string | undefined)[];
  /** The file's row number of row 0 (for errors). */
  firstRow: number;
}

/** A type that is not UINT_8 cannot be one the writer stored. */
function checkType(r: Rows, i: number, k: number): void {
  if (k < 0 || k > 255) throw new MalformedParquetError(`row ${r.firstRow + i} has type ${k}, not a UINT_8`);
}

/**
 * Partials built row by row, in time order. The loops keep their state in locals and read the
 * decoded pages as they are: a cold query runs them once, mostly before the optimising compiler
 * gets to them, where every property access or extra pass over the rows shows.
 */
class Partials {
  readonly out: BucketPartial[] = [];
  private bucket = Number.NaN;
  private count = 0;
  private acc = 0;
  private comp = 0;
  private first: PointValue = null;
  private last: PointValue = null;
  readonly fn: AggregateFn;
  readonly numeric: boolean;
  readonly picks: boolean;

  constructor(fn: AggregateFn) {
    this.fn = fn;
    this.numeric = fn === 'avg' || fn === 'sum' || fn === 'min' || fn === 'max';
    this.picks = fn === 'first' || fn === 'last';
  }

  /** Adds the numbers of rows with ts in [lo, hi) (avg, sum, min, max). */
  numbers(r: Rows, lo: number, hi: number, every: number): void {
    const { ts, type, present } = r;
    const num = r.num as Float64Array;
    const op = this.fn === 'min' ? 1 : this.fn === 'max' ? 2 : 0;
    let { bucket, count, acc, comp } = this;
    const n = type.length;
    for (let i = 0; i < n; i++) {
      const t = (ts[2 * i] as number) + ((ts[2 * i + 1] as number) | 0) * 4294967296;
      if (t < lo || t >= hi) continue;
      // As BucketAggregator: a new bucket only once t leaves the open one.
      if (!(t < bucket + every && t >= bucket)) {
        const b = Math.floor(t / every) * every;
        if (b < bucket) throw new OutOfOrder();
        if (!Number.isNaN(bucket))
          this.out.push({ bucket, count, acc: compensatedSum(acc, comp), first: null, last: null });
        bucket = b;
        count = 0;
        acc = 0;
        comp = 0;
      }
      const k = type[i] as number;
      if (k !== T_NUMBER) {
        checkType(r, i, k);
        continue;
      }
      if (present && present[i] !== 1)
        throw new MalformedParquetError(`row ${r.firstRow + i} is a number without a value`);
      const v = num[i] as number;
      if (count === 0) acc = v;
      else if (op === 1) acc = Math.min(v, acc);
      else if (op === 2) acc = Math.max(v, acc);
      else {
        // Neumaier's compensated sum, as BucketAggregator adds (|x| inline: a call per row
        // costs the interpreter more than the arithmetic).
        const s = acc + v;
        if ((acc < 0 ? -acc : acc) >= (v < 0 ? -v : v)) comp += acc - s + v;
        else comp += v - s + acc;
        acc = s;
      }
      count++;
    }
    this.bucket = bucket;
    this.count = count;
    this.acc = acc;
    this.comp = comp;
  }

  /** Adds the non-null values of rows with ts in [lo, hi) (count, first, last). */
  values(r: Rows, lo: number, hi: number, every: number): void {
    const { ts, type } = r;
    for (let i = 0; i < type.length; i++) {
      const t = (ts[2 * i] as number) + ((ts[2 * i + 1] as number) | 0) * 4294967296;
      if (t < lo || t >= hi) continue;
      if (!(t < this.bucket + every && t >= this.bucket)) {
        const b = Math.floor(t / every) * every;
        if (b < this.bucket) throw new OutOfOrder();
        this.flush();
        this.bucket = b;
      }
      const k = type[i] as number;
      checkType(r, i, k);
      if (k === T_NULL) continue;
      const v = this.picks ? pointValueAt(r, i, k) : null;
      if (this.count === 0) this.first = v;
      this.last = v;
      this.count++;
    }
  }

  flush(): void {
    // As DuckDB's query gives them: first/last (the one asked for) in both fields.
    const pick = this.fn === 'first' ? this.first : this.fn === 'last' ? this.last : null;
    if (!Number.isNaN(this.bucket))
      this.out.push({
        bucket: this.bucket,
        count: this.count,
        acc: compensatedSum(this.acc, this.comp),
        first: pick,
        last: pick,
      });
    this.bucket = Number.NaN;
    this.count = 0;
    this.acc = 0;
    this.comp = 0;
    this.first = null;
    this.last = null;
  }
}

function pointValueAt(r: Rows, i: number, k: number): PointValue {
  if (k === T_NUMBER || k === T_BOOL) {
    if (r.present && r.present[i] !== 1)
      throw new MalformedParquetError(`row ${r.firstRow + i} has no value`);
    const v = (r.num as Float64Array)[i] as number;
    return k === T_NUMBER ? v : v === 1;
  }
  return k === T_STRING ? (r.str?.[i] ?? '') : null;
}

/** Adds the rows [from, to) of the file that are in [lo, hi) µs. */
async function addFile(
  r: SegmentFileReader,
  from: number,
  to: number,
  lo: number,
  hi: number,
  every: number,
  p: Partials,
): Promise<void> {
  const names = p.picks
    ? ['ts', 'type', 'value', 'str']
    : p.numeric
      ? ['ts', 'type', 'value']
      : ['ts', 'type'];
  for (const g of r.groupsFor(from, to, lo, hi)) {
    const pages = await r.pages(g, names);
    const page = (name: string) => pages.get(name) as Pages;
    const a = Math.max(from, g.firstRow) - g.firstRow;
    const b = Math.min(to, g.firstRow + g.numRows) - g.firstRow;
    const rows: Rows = {
      ts: int64Words(page('ts'), a, b),
      type: int32Rows(page('type'), a, b),
      firstRow: g.firstRow + a,
    };
    if (pages.has('value')) Object.assign(rows, doubleRows(page('value'), a, b));
    if (pages.has('str')) rows.str = stringRows(page('str'), a, b);
    if (p.numeric) p.numbers(rows, lo, hi, every);
    else p.values(rows, lo, hi, every);
  }
}

/**
 * The buckets in [lo, hi) µs of `sources` (a window's segments of one variable, in time order),
 * or undefined when a file is not one this reader decodes. A file whose bytes cannot be right
 * throws TimeSeriesError naming it; nothing is written either way.
 */
export async function segmentBucketsJs(
  sources: readonly SegmentSource[],
  lo: number,
  hi: number,
  everyMicros: number,
  fn: AggregateFn,
): Promise<BucketPartial[] | undefined> {
  const readers: (SegmentFileReader | undefined)[] = [];
  let at = 0;
  try {
    for (; at < sources.length; at++) {
      const r = await SegmentFileReader.open((sources[at] as SegmentSource).file);
      readers.push(r);
      if (!r) return undefined;
    }
    const p = new Partials(fn);
    // As segmentBucketsSql compares: whole µs.
    const [l, h] = [Math.trunc(lo), Math.trunc(hi)];
    for (at = 0; at < sources.length; at++) {
      const r = readers[at] as SegmentFileReader;
      const [from, to] = (sources[at] as SegmentSource).range ?? [0, r.meta.numRows];
      if (to > r.meta.numRows)
        throw new MalformedParquetError(
          `it has ${r.meta.numRows} rows where the manifest names rows up to ${to}`,
        );
      await addFile(r, from, to, l, h, everyMicros, p);
    }
    p.flush();
    return p.out;
  } catch (error) {
    if (error instanceof UnsupportedParquetError || error instanceof OutOfOrder) return undefined;
    if (error instanceof MalformedParquetError || error instanceof BadFooterError) {
      const name = sources[Math.min(at, sources.length - 1)]?.name;
      throw new TimeSeriesError(
        `Time-series segment ${name} cannot be read: ${error.message}. The store's files are left as they are; restore this one from a backup`,
        { cause: error, context: { segment: name } },
      );
    }
    throw error;
  } finally {
    for (const r of readers) await r?.close();
  }
}
