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

/**
 * Rows of the file at `file` (`ranges` of them in order, or all), or undefined when this reader
 * does not decode the file. `name` names it in errors.
 */
export async function readSegmentColumns(
  file: string,
  ranges: readonly (readonly [number, number])[] | 'all',
  name: string,
): Promise<Columns | undefined> {
  let r: SegmentFileReader | undefined;
  try {
    r = await SegmentFileReader.open(file);
    if (!r) return undefined;
    const wanted = ranges === 'all' ? [[0, r.meta.numRows] as const] : ranges;
    const total = wanted.reduce((s, [a, b]) => s + Math.max(0, b - a), 0);
    const c: Columns = {
      length: total,
      micros: new Float64Array(total),
      seq: new Float64Array(total),
      type: new Uint8Array(total),
      num: new Float64Array(total),
      strs: new Array(total),
      metas: new Array(total),
    };
    const str = interner();
    const meta = interner();
    let n = 0;
    // Runs of one row group (ranges come in row order) read and decompress it once.
    let last: { first: number; pages: Map<string, Pages> } | undefined;
    for (const [from, to] of wanted) {
      if (to > r.meta.numRows)
        throw new MalformedParquetError(`it has ${r.meta.numRows} rows where rows up to ${to} are asked for`);
      for (const g of r.groupsFor(from, to)) {
        if (last?.first !== g.firstRow) last = { first: g.firstRow, pages: await r.pages(g, NAMES) };
        const pages = last.pages;
        const page = (k: string) => pages.get(k) as Pages;
        const a = Math.max(from, g.firstRow) - g.firstRow;
        const b = Math.min(to, g.firstRow + g.numRows) - g.firstRow;
        c.micros.set(int64Rows(page('ts'), a, b), n);
        c.type.set(uint8Rows(page('type'), a, b), n);
        c.num.set(doubleRows(page('value'), a, b).num, n);
        const s = stringRows(page('str'), a, b);
        const m = stringRows(page('meta'), a, b);
        for (let i = 0; i < b - a; i++) {
          c.strs[n + i] = str(s[i]);
          c.metas[n + i] = meta(m[i]);
        }
        n += b - a;
      }
    }
    for (let i = 0; i < total; i++) c.seq[i] = i;
    return c;
  } catch (error) {
    if (error instanceof UnsupportedParquetError) return undefined;
    if (error instanceof MalformedParquetError || error instanceof BadFooterError)
      throw new TimeSeriesError(
        `Time-series segment ${name} cannot be read: ${error.message}. The store's files are left as they are; restore this one from a backup`,
        { cause: error, context: { segment: name } },
      );
    throw error;
  } finally {
    await r?.close();
  }
}
