/**
 * Segment rows decoded in JS into the typed columns queries use, from files sluice's own encoder
 * wrote (parquet/segment-reader.ts): the same Columns segment-decode.ts reads through DuckDB,
 * without starting or querying it. Undefined for other files (DuckDB reads those); a file whose
 * bytes cannot be right throws TimeSeriesError naming it.
 */
import { TimeSeriesError } from '../errors.ts';
import type { Columns } from './columns.ts';
import type { RowGroupMeta } from './parquet/file-meta.ts';
import { BadFooterError } from './parquet/footer.ts';
import {
  MalformedParquetError,
  type Pages,
  releasePages,
  UnsupportedParquetError,
} from './parquet/page-read.ts';
import { releaseMemory } from './parquet/release.ts';
import { DecodeScratch, doubleInto, int64Into, stringsInto, uint8Into } from './parquet/rows-into.ts';
import { SegmentFileReader } from './parquet/segment-reader.ts';

const NAMES = ['ts', 'type', 'value', 'str', 'meta'] as const;

/** One shared string object per distinct text (metadata repeats on most rows), as segment-decode.ts does. */
function interner(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    const one = seen.get(s);
    if (one !== undefined) return one;
    if (seen.size < 65_536) seen.set(s, s);
    return s;
  };
}

/**
 * Columns of `total` rows, all zero and none set; `texts` gives the string arrays to fill instead
 * of new ones of `total` slots (an empty `strs` stays sparse: see copyRows).
 */
export function newColumns(total: number, texts?: Pick<Columns, 'strs' | 'metas'>): Columns {
  return {
    length: total,
    micros: new Float64Array(total),
    seq: new Float64Array(total),
    type: new Uint8Array(total),
    num: new Float64Array(total),
    strs: texts?.strs ?? new Array(total),
    metas: texts?.metas ?? new Array(total),
  };
}

/** Frees the typed memory of columns newColumns made, which nothing reads any more (parquet/release.ts). */
export function releaseColumns(c: Columns): void {
  releaseMemory(c.micros, c.seq, c.type, c.num);
}

/**
 * Copies `from`'s rows [a, b) (all of them by default) into `into` from its row `at` (seq left to
 * the caller); returns the row after them.
 */
export function copyRows(into: Columns, at: number, from: Columns, a = 0, b = from.length): number {
  into.micros.set(from.micros.subarray(a, b), at);
  into.type.set(from.type.subarray(a, b), at);
  into.num.set(from.num.subarray(a, b), at);
  const strs = into.strs;
  for (let i = a, j = at; i < b; i++, j++) {
    // strs may be sparse (a numeric run's is empty): no undefined written past its end.
    const s = from.strs[i];
    if (s !== undefined || j < strs.length) strs[j] = s;
    into.metas[j] = from.metas[i];
  }
  return at + b - a;
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

/** Ranges shorter than a row group's rows ÷ this, on average, have their group decoded whole. */
const SHORT_RANGES = 32;

const NO_SEQ = new Float64Array(0);

/** One row group's rows decoded whole (strings interned), in arrays sized for the file's largest. */
type DecodedGroup = Columns & { first: number };

/**
 * Row ranges of one open segment file decoded into Columns, range after range: a merge reads its
 * inputs one variable at a time, in row order. The row group last read (read and decompressed
 * once, its dictionaries' texts decoded once) serves the next ranges in it; from its second read
 * on it is decoded whole and ranges are copied out of it, because each range decoded on its own
 * walks its pages' levels and indices from the page start (~170 µs a range: 10,000 variables'
 * runs of one file took seconds). A group decoded whole that is needed again after another was
 * (ranges read out of row order) turns this off for the file: each range is then decoded alone.
 */
export class SegmentRows {
  private last: { first: number; pages: Map<string, Pages> } | undefined;
  private decoded: DecodedGroup | undefined;
  private readonly decodedBefore = new Set<number>();
  private rangesOnly = false;
  /** Ranges read of the last group's pages, and their rows. */
  private lastReads = { ranges: 0, rows: 0 };
  private readonly str = interner();
  private readonly meta = interner();
  private readonly scratch: DecodeScratch;
  private readonly ownsScratch: boolean;
  private readonly r: SegmentFileReader;
  private readonly name: string;

  private constructor(r: SegmentFileReader, name: string, scratch?: DecodeScratch) {
    this.scratch = scratch ?? new DecodeScratch();
    this.ownsScratch = !scratch;
    this.r = r;
    this.name = name;
  }

  /**
   * The rows of the file at `file`, or undefined when this reader does not decode it. `name` names
   * it in errors. `scratch`: arrays shared with other readers used one at a time (a merge's input
   * files), released by their owner.
   */
  static async open(file: string, name: string, scratch?: DecodeScratch): Promise<SegmentRows | undefined> {
    try {
      const r = await SegmentFileReader.open(file);
      return r && new SegmentRows(r, name, scratch);
    } catch (error) {
      return named(error, name);
    }
  }

  get numRows(): number {
    return this.r.meta.numRows;
  }

  close(): Promise<void> {
    this.dropPages();
    if (this.decoded) releaseColumns(this.decoded);
    if (this.ownsScratch) this.scratch.release();
    this.decoded = undefined;
    return this.r.close();
  }

  /** Drops the last group's pages, their memory freed at once (parquet/release.ts): nothing keeps a view of them. */
  private dropPages(): void {
    if (this.last) releasePages(this.last.pages.values());
    this.last = undefined;
  }

  /** Rows `ranges` (ascending) as one Columns. */
  async read(ranges: readonly (readonly [number, number])[]): Promise<Columns> {
    const total = ranges.reduce((s, [a, b]) => s + Math.max(0, b - a), 0);
    const c = newColumns(total);
    let n = 0;
    for (const [from, to] of ranges) n = await this.readInto(c, n, from, to);
    for (let i = 0; i < total; i++) c.seq[i] = i;
    return c;
  }

  /**
   * Decodes rows [from, to) into `c` from its row `n` (seq left to the caller); returns the row
   * after them. A file that cannot be right throws TimeSeriesError naming it.
   */
  async readInto(c: Columns, n: number, from: number, to: number): Promise<number> {
    try {
      return await this.into(c, n, from, to);
    } catch (error) {
      return named(error, this.name) as never;
    }
  }

  private async into(c: Columns, n: number, from: number, to: number): Promise<number> {
    const r = this.r;
    if (to > r.meta.numRows)
      throw new MalformedParquetError(`it has ${r.meta.numRows} rows where rows up to ${to} are asked for`);
    for (const g of r.groupsFor(from, to)) {
      const a = Math.max(from, g.firstRow) - g.firstRow;
      const b = Math.min(to, g.firstRow + g.numRows) - g.firstRow;
      const whole = await this.wholeGroup(g, b - a);
      if (whole) {
        n = copyRows(c, n, whole, a, b);
        continue;
      }
      const page = await this.pagesOf(g);
      this.lastReads.ranges++;
      this.lastReads.rows += b - a;
      this.decodeInto(page, a, b, c, n);
      n += b - a;
    }
    return n;
  }

  /** Rows [a, b) of a group whose pages are `page` into `c` from its row `n`. */
  private decodeInto(page: (k: string) => Pages, a: number, b: number, c: Columns, n: number): void {
    int64Into(page('ts'), a, b, c.micros, n);
    uint8Into(page('type'), a, b, c.type, n);
    doubleInto(page('value'), a, b, c.num, n, this.scratch);
    stringsInto(page('str'), a, b, c.strs, n, this.scratch, this.str);
    stringsInto(page('meta'), a, b, c.metas, n, this.scratch, this.meta);
  }

  /** Row group `g`'s pages, read unless they are the last group's. */
  private async pagesOf(g: RowGroupMeta): Promise<(k: string) => Pages> {
    if (this.last?.first !== g.firstRow) {
      this.dropPages();
      this.lastReads = { ranges: 0, rows: 0 };
      this.last = { first: g.firstRow, pages: await this.r.pages(g, NAMES) };
    }
    const pages = this.last.pages;
    return (k) => pages.get(k) as Pages;
  }

  /**
   * Row group `g` decoded whole, when it is the one decoded or when the ranges read of it so far
   * were short (see the class): ranges of a thirty-second of the group or more cost little more
   * decoded one by one, and a group decoded whole takes ~33 bytes a row (4 MiB) while it is read.
   */
  private async wholeGroup(g: RowGroupMeta, asked: number): Promise<DecodedGroup | undefined> {
    if (this.decoded?.first === g.firstRow) return this.decoded;
    if (this.rangesOnly || this.last?.first !== g.firstRow) return undefined;
    const r = this.lastReads;
    if ((r.rows + asked) * SHORT_RANGES >= g.numRows * (r.ranges + 1)) return undefined;
    if (this.decodedBefore.has(g.firstRow)) {
      this.rangesOnly = true;
      return undefined;
    }
    const page = await this.pagesOf(g);
    const rows = g.numRows;
    // One set of arrays for the file's largest group, reused by each group decoded whole after.
    if (!this.decoded || this.decoded.micros.length < rows) {
      const most = Math.max(...this.r.meta.rowGroups.map((x) => x.numRows));
      // No seq column: ranges are copied out of it without one (copyRows), 8 bytes a row saved.
      this.decoded = {
        length: most,
        micros: new Float64Array(most),
        seq: NO_SEQ,
        type: new Uint8Array(most),
        num: new Float64Array(most),
        strs: new Array(most),
        metas: new Array(most),
        first: g.firstRow,
      };
    }
    const d = this.decoded;
    d.first = -1;
    this.decodeInto(page, 0, rows, d, 0);
    d.first = g.firstRow;
    this.decodedBefore.add(g.firstRow);
    // The decoded rows serve every later range of this group: its pages are not needed.
    this.dropPages();
    return this.decoded;
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
