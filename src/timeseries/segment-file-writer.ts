/**
 * A segment file: the sorted, resolved points of one or many variables of one window, one run of
 * rows per variable, runs in variable order, encoded straight from the typed columns by the
 * Parquet writer in parquet/. Its columns are those segment files always had (variable, ts, type,
 * value, str, meta), so files of the one-variable layout and of this one are read alike.
 */
import { TimeSeriesError } from '../errors.ts';
import { T_BOOL, T_NUMBER, T_STRING } from './codec.ts';
import type { Columns, MetaTexts } from './columns.ts';
import type { LastPoint } from './manifest.ts';
import { dictionaryStrings, optionalDoubles, timestampMicros, uint8 } from './parquet/columns.ts';
import { releaseMemory } from './parquet/release.ts';
import { writeParquet } from './parquet/writer.ts';
import { encodeRunEnds, LAST_ROWS_KEY, lastPointOf } from './segment-last-rows.ts';

/** One variable's points in a segment file. */
export interface Run {
  variable: string;
  cols: Columns;
}

/**
 * One variable's `rows` points, read by `load` only when the writer reaches its rows and dropped
 * once they are encoded: a merge of many files' runs holds about one variable's points at a time,
 * not the whole file's.
 */
export interface LazyRun {
  variable: string;
  rows: number;
  load: () => Promise<Columns>;
  /**
   * Called with what `load` gave once its rows are encoded: a merge frees their memory there
   * (parquet/release.ts), so nothing may keep them (the writer's cache keeps no lazy run:
   * firstCached).
   */
  release?: (cols: Columns) => void;
}

export type RunSource = Run | LazyRun;

/**
 * The first of `runs` a writer's cache of `most` rows keeps: the last runs of new points, up to its
 * size (earlier ones would be evicted by the later ones at once). Not a merge's runs read from
 * files (lazy): they are freed as they are written (their memory is the merge's churn: see
 * parquet/release.ts), and read back from their file when asked for.
 */
export function firstCached(runs: readonly RunSource[], most: number): number {
  let from = runs.length;
  for (let left = most; from > 0; from--) {
    const r = runs[from - 1] as RunSource;
    left -= rowsOf(r);
    if (left < 0 || 'load' in r) break;
  }
  return from;
}

/** What the writer saw of a run it wrote: its rows, first and last timestamps, and last point. */
export interface RunEnd {
  rows: number;
  minMicros: number;
  maxMicros: number;
  last?: LastPoint;
}

export const rowsOf = (r: RunSource): number => ('cols' in r ? r.cols.length : r.rows);

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
 * The file's text ids of metadata ids: columns that carry ids (a buffer's sorted columns) are
 * mapped id by id, each distinct id looked up once, instead of a lookup per row of a text.
 */
class MetaIdMap {
  private texts: MetaTexts | undefined;
  private map = new Int32Array(0);
  /** The table for `texts` (-1: not looked up yet), emptied when the texts are another's. */
  for(texts: MetaTexts): Int32Array {
    if (texts !== this.texts || this.map.length < texts.size) {
      const grown = new Int32Array(texts.size).fill(-1);
      if (texts === this.texts) grown.set(this.map);
      this.map = grown;
      this.texts = texts;
    }
    return this.map;
  }
}

/** One row group's columns, reused from one row group to the next. */
class GroupScratch {
  readonly micros: Float64Array;
  readonly type: Uint8Array;
  readonly num: Float64Array;
  readonly hasValue: Uint32Array;
  readonly varIds: Uint32Array;
  readonly strIds: Uint32Array;
  readonly metaIds: Uint32Array;
  constructor(rows: number) {
    this.micros = new Float64Array(rows);
    this.type = new Uint8Array(rows);
    this.num = new Float64Array(rows);
    this.hasValue = new Uint32Array(rows);
    this.varIds = new Uint32Array(rows);
    this.strIds = new Uint32Array(rows);
    this.metaIds = new Uint32Array(rows);
  }
  release(): void {
    releaseMemory(this.micros, this.type, this.num, this.hasValue, this.varIds, this.strIds, this.metaIds);
  }
}

/** The last run starting at or before row `row` (`starts` ascending). */
function runAt(starts: readonly number[], row: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((starts[mid] as number) <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Copies the file's rows [from, to) (across the runs they lie in) into `s` from its row 0. */
function fillGroup(
  runs: readonly (Columns | undefined)[],
  starts: readonly number[],
  from: number,
  to: number,
  s: GroupScratch,
  strs: TextIds,
  metas: TextIds,
  metaIdMap: MetaIdMap,
): void {
  for (let k = runAt(starts, from); k < runs.length && (starts[k] as number) < to; k++) {
    const c = runs[k];
    if (!c) continue;
    const at = starts[k] as number;
    const a = Math.max(from, at) - at;
    const b = Math.min(to, at + c.length) - at;
    if (b <= a) continue;
    const o = at + a - from;
    s.micros.set(c.micros.subarray(a, b), o);
    s.type.set(c.type.subarray(a, b), o);
    s.num.set(c.num.subarray(a, b), o);
    s.varIds.fill(k + 1, o, o + b - a);
    for (let i = a, j = o; i < b; i++, j++) {
      const t = c.type[i];
      s.hasValue[j] = t === T_NUMBER || t === T_BOOL ? 1 : 0;
      s.strIds[j] = t === T_STRING ? strs.id(c.strs[i] ?? '') : 0;
    }
    const ids = c.metaIds;
    const texts = c.metaTexts;
    if (ids && texts) {
      const map = metaIdMap.for(texts);
      for (let i = a, j = o; i < b; i++, j++) {
        const id = ids[i] as number;
        let f = map[id] as number;
        if (f < 0) {
          f = metas.id(texts.get(id));
          map[id] = f;
        }
        s.metaIds[j] = f;
      }
    } else {
      const m = c.metas;
      for (let i = a, j = o; i < b; i++, j++) s.metaIds[j] = metas.id(m[i]);
    }
  }
}

/** Runs' columns as the writer reaches them: loaded (and checked) once, dropped once written. */
class RunCursor {
  readonly cols: (Columns | undefined)[];
  readonly ends: (RunEnd | undefined)[];
  private readonly runs: readonly RunSource[];
  private readonly onLoaded: OnLoaded | undefined;
  constructor(runs: readonly RunSource[], onLoaded?: OnLoaded) {
    this.runs = runs;
    this.onLoaded = onLoaded;
    this.cols = new Array(runs.length);
    this.ends = new Array(runs.length);
  }

  /** Drops run `k`'s columns (its rows are encoded), releasing a lazy run's. */
  drop(k: number): void {
    const c = this.cols[k];
    const r = this.runs[k] as RunSource;
    this.cols[k] = undefined;
    if (c && 'release' in r) r.release?.(c);
  }

  /** Loads run `k` unless it was. */
  async load(k: number): Promise<void> {
    if (this.ends[k]) return;
    const r = this.runs[k] as RunSource;
    const c = 'cols' in r ? r.cols : await r.load();
    // A lazy run's rows were counted before it was read (the files' rows said in their
    // manifest entries): rows it lacks or has over would be laid out as another run's.
    if (c.length !== rowsOf(r))
      throw new TimeSeriesError(
        `Time-series run of ${r.variable} read back ${c.length} rows where ${rowsOf(r)} were to be written`,
        { context: { variable: r.variable, rows: c.length, expected: rowsOf(r) } },
      );
    this.cols[k] = c;
    this.ends[k] = {
      rows: c.length,
      minMicros: c.micros[0] ?? 0,
      maxMicros: c.micros[c.length - 1] ?? 0,
      ...lastPointOf(c),
    };
    this.onLoaded?.(k, c);
  }
}

/** Sees each run's columns as they are read (a lazy run's are released once written: not to keep). */
export type OnLoaded = (k: number, cols: Columns) => void;

/**
 * The bytes of a segment file holding `runs` (in the order given; each run sorted and resolved),
 * where each run starts, and what each run ended in. Rows are copied into the encoder's columns
 * one row group at a time (about 4 MiB), not the whole file's at once (41 bytes a row: 25 MiB for
 * a compaction of 600,000 points); lazy runs are read when their rows are reached and dropped
 * once written. `onLoaded` sees each run's columns as they are read. The bytes are the file's
 * own (parquet/writer.ts): the caller may release them once written. `rowGroupRows` is for tests.
 */
export async function encodeSegmentFile(
  runs: readonly RunSource[],
  rowGroupRows = ROW_GROUP_ROWS,
  onLoaded?: OnLoaded,
): Promise<{ bytes: Buffer; starts: number[]; ends: RunEnd[] }> {
  let rows = 0;
  const starts: number[] = [];
  for (const r of runs) {
    starts.push(rows);
    rows += rowsOf(r);
  }
  const s = new GroupScratch(Math.min(rows, rowGroupRows));
  const strs = new TextIds();
  const metas = new TextIds();
  const metaIdMap = new MetaIdMap();
  const names = runs.map((r) => Buffer.from(r.variable));
  const cursor = new RunCursor(runs, onLoaded);
  // The columns read the scratch, which each row group refills from its row 0; they keep their
  // page buffers from one row group to the next too.
  const columns = [
    dictionaryStrings('variable', s.varIds, names, false, true),
    timestampMicros('ts', s.micros),
    uint8('type', s.type),
    optionalDoubles('value', s.num, s.hasValue),
    dictionaryStrings('str', s.strIds, strs.texts, true, false),
    dictionaryStrings('meta', s.metaIds, metas.texts, true, false),
  ];
  // Runs of no rows are never reached by a row group: their ends are known now.
  for (let k = 0; k < runs.length; k++) if (rowsOf(runs[k] as RunSource) === 0) await cursor.load(k);
  let written = 0;
  const bytes = await writeParquet(
    rows,
    rowGroupRows,
    async (from, to) => {
      for (let k = runAt(starts, from); from < to && k < runs.length && (starts[k] as number) < to; k++)
        await cursor.load(k);
      fillGroup(cursor.cols, starts, from, to, s, strs, metas, metaIdMap);
      // Runs written to their end are not needed again.
      for (
        ;
        written < runs.length && (starts[written] as number) + rowsOf(runs[written] as RunSource) <= to;
        written++
      )
        cursor.drop(written);
      return columns;
    },
    () => [[LAST_ROWS_KEY, encodeRunEnds(cursor.ends as RunEnd[])]],
  );
  // The row group's arrays and the columns' pages are done with: freed now, not at a later GC.
  for (const c of columns) c.release?.();
  s.release();
  return { bytes, starts, ends: cursor.ends as RunEnd[] };
}
