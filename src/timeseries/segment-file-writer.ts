/**
 * A segment file: the sorted, resolved points of one or many variables of one window, one run of
 * rows per variable, runs in variable order, encoded straight from the typed columns by the
 * Parquet writer in parquet/. Its columns are those segment files always had (variable, ts, type,
 * value, str, meta), so files of the one-variable layout and of this one are read alike.
 */
import { T_BOOL, T_NUMBER, T_STRING } from './codec.ts';
import type { Columns } from './columns.ts';
import { dictionaryStrings, optionalDoubles, timestampMicros, uint8 } from './parquet/columns.ts';
import { writeParquet } from './parquet/writer.ts';
import { encodeLastRows, LAST_ROWS_KEY } from './segment-last-rows.ts';

/** One variable's points in a segment file. */
export interface Run {
  variable: string;
  cols: Columns;
}

/**
 * Rows per row group: DuckDB's own default. A reader of one variable reads the row groups its run
 * lies in (it filters on the row number, which DuckDB prunes row groups by).
 */
const ROW_GROUP_ROWS = 122_880;

/** Ids of distinct texts: `ids[row]` is 1 + the text's index in `texts`, 0 for none. */
class TextIds {
  readonly texts: Buffer[] = [];
  private readonly index = new Map<string, number>();
  private last: string | undefined;
  private lastId = 0;
  id(text: string | undefined): number {
    if (text === undefined) return 0;
    // Metadata repeats row after row (one string object per distinct text): skip the lookup.
    if (text === this.last) return this.lastId;
    let id = this.index.get(text);
    if (id === undefined) {
      this.texts.push(Buffer.from(text));
      id = this.texts.length;
      this.index.set(text, id);
    }
    this.last = text;
    this.lastId = id;
    return id;
  }
}

/**
 * The bytes of a segment file holding `runs` (in the order given; each run sorted and resolved),
 * and where each run starts.
 */
export async function encodeSegmentFile(
  runs: readonly Run[],
): Promise<{ parts: Buffer[]; starts: number[] }> {
  let rows = 0;
  const starts: number[] = [];
  for (const r of runs) {
    starts.push(rows);
    rows += r.cols.length;
  }
  const micros = new Float64Array(rows);
  const type = new Uint8Array(rows);
  const num = new Float64Array(rows);
  const hasValue = new Uint32Array(rows);
  const varIds = new Uint32Array(rows);
  const strIds = new Uint32Array(rows);
  const metaIds = new Uint32Array(rows);
  const strs = new TextIds();
  const metas = new TextIds();
  runs.forEach((r, k) => {
    const c = r.cols;
    const at = starts[k] as number;
    micros.set(c.micros.subarray(0, c.length), at);
    type.set(c.type.subarray(0, c.length), at);
    num.set(c.num.subarray(0, c.length), at);
    varIds.fill(k + 1, at, at + c.length);
    for (let i = 0; i < c.length; i++) {
      const t = c.type[i];
      if (t === T_NUMBER || t === T_BOOL) hasValue[at + i] = 1;
      else if (t === T_STRING) strIds[at + i] = strs.id(c.strs[i] ?? '');
      metaIds[at + i] = metas.id(c.metas[i]);
    }
  });
  const names = runs.map((r) => Buffer.from(r.variable));
  const parts = await writeParquet(
    [
      dictionaryStrings('variable', varIds, names, false, true),
      timestampMicros('ts', micros),
      uint8('type', type),
      optionalDoubles('value', num, hasValue),
      dictionaryStrings('str', strIds, strs.texts, true, false),
      dictionaryStrings('meta', metaIds, metas.texts, true, false),
    ],
    rows,
    ROW_GROUP_ROWS,
    [[LAST_ROWS_KEY, encodeLastRows(runs.map((r) => r.cols))]],
  );
  return { parts, starts };
}
