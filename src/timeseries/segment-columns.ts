/**
 * Segment rows decoded in JS into the typed columns queries use, from files sluice's own encoder
 * wrote (parquet/segment-reader.ts): the same Columns segment-decode.ts reads through DuckDB,
 * without starting or querying it. Undefined for other files (DuckDB reads those); a file whose
 * bytes cannot be right throws TimeSeriesError naming it.
 */
import { TimeSeriesError } from '../errors.ts';
import type { Columns } from './columns.ts';
import { BadFooterError } from './parquet/footer.ts';
import { MalformedParquetError, type Pages, UnsupportedParquetError } from './parquet/page-read.ts';
import { doubleRows, int64Rows, SegmentFileReader, stringRows, uint8Rows } from './parquet/segment-reader.ts';

const NAMES = ['ts', 'type', 'value', 'str', 'meta'] as const;

/** One shared string object per distinct text (metadata repeats on most rows), as segment-decode.ts does. */
function interner(): (s: string | undefined) => string | undefined {
  const seen = new Map<string, string>();
  return (s) => {
    if (s === undefined) return undefined;
    const one = seen.get(s);
    if (one !== undefined) return one;
    if (seen.size < 65_536) seen.set(s, s);
    return s;
  };
}

function newColumns(total: number): Columns {
  return {
    length: total,
    micros: new Float64Array(total),
    seq: new Float64Array(total),
    type: new Uint8Array(total),
    num: new Float64Array(total),
    strs: new Array(total),
    metas: new Array(total),
  };
}

/** The reader's errors as the store names them: undefined for a file DuckDB reads, TimeSeriesError for a bad one. */
function named(error: unknown, name: string): undefined {
  if (error instanceof UnsupportedParquetError) return undefined;
  if (error instanceof MalformedParquetError || error instanceof BadFooterError)
    throw new TimeSeriesError(
      `Time-series segment ${name} cannot be read: ${error.message}. The store's files are left as they are; restore this one from a backup`,
      { cause: error, context: { segment: name } },
    );
  throw error;
}

/**
 * Row ranges of one open segment file decoded into Columns, range after range: a merge reads its
 * inputs one variable at a time, in row order, and the row group last read (read and
 * decompressed once, its dictionaries' texts decoded once) serves the next ranges in it.
 */
export class SegmentRows {
  private last: { first: number; pages: Map<string, Pages> } | undefined;
  private readonly str = interner();
  private readonly meta = interner();
  private readonly r: SegmentFileReader;
  private readonly name: string;

  private constructor(r: SegmentFileReader, name: string) {
    this.r = r;
    this.name = name;
  }

  /** The rows of the file at `file`, or undefined when this reader does not decode it. `name` names it in errors. */
  static async open(file: string, name: string): Promise<SegmentRows | undefined> {
    try {
      const r = await SegmentFileReader.open(file);
      return r && new SegmentRows(r, name);
    } catch (error) {
      return named(error, name);
    }
  }

  get numRows(): number {
    return this.r.meta.numRows;
  }

  close(): Promise<void> {
    this.last = undefined;
    return this.r.close();
  }

  /** Rows `ranges` (ascending) as one Columns. */
  async read(ranges: readonly (readonly [number, number])[]): Promise<Columns> {
    try {
      const total = ranges.reduce((s, [a, b]) => s + Math.max(0, b - a), 0);
      const c = newColumns(total);
      let n = 0;
      for (const [from, to] of ranges) n = await this.into(c, n, from, to);
      for (let i = 0; i < total; i++) c.seq[i] = i;
      return c;
    } catch (error) {
      return named(error, this.name) as never;
    }
  }

  /** Decodes rows [from, to) into `c` from row `n`; returns the row after them. */
  private async into(c: Columns, n: number, from: number, to: number): Promise<number> {
    const r = this.r;
    if (to > r.meta.numRows)
      throw new MalformedParquetError(`it has ${r.meta.numRows} rows where rows up to ${to} are asked for`);
    for (const g of r.groupsFor(from, to)) {
      if (this.last?.first !== g.firstRow) {
        this.last = undefined;
        this.last = { first: g.firstRow, pages: await r.pages(g, NAMES) };
      }
      const pages = this.last.pages;
      const page = (k: string) => pages.get(k) as Pages;
      const a = Math.max(from, g.firstRow) - g.firstRow;
      const b = Math.min(to, g.firstRow + g.numRows) - g.firstRow;
      c.micros.set(int64Rows(page('ts'), a, b), n);
      c.type.set(uint8Rows(page('type'), a, b), n);
      c.num.set(doubleRows(page('value'), a, b).num, n);
      const s = stringRows(page('str'), a, b);
      const m = stringRows(page('meta'), a, b);
      for (let i = 0; i < b - a; i++) {
        c.strs[n + i] = this.str(s[i]);
        c.metas[n + i] = this.meta(m[i]);
      }
      n += b - a;
    }
    return n;
  }
}

/**
 * Rows of the file at `file` (`ranges` of them in order, or all), or undefined when this reader
 * does not decode the file. `name` names it in errors.
 */
export async function readSegmentColumns(
  file: string,
  ranges: readonly (readonly [number, number])[] | 'all',
  name: string,
): Promise<Columns | undefined> {
  const rows = await SegmentRows.open(file, name);
  if (!rows) return undefined;
  try {
    return await rows.read(ranges === 'all' ? [[0, rows.numRows]] : ranges);
  } finally {
    await rows.close();
  }
}
