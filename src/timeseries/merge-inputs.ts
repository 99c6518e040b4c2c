/**
 * The input files of a compaction's merges, read one variable's run at a time (compact.ts): each
 * file is opened once per window, and its runs are decoded when the segment writer reaches the
 * variable (segment-file-writer.ts LazyRun), so a merge of many files holds about one variable's
 * points, not every point of the files it merges. Files sluice's encoder did not write (DuckDB
 * wrote older segments) are not decoded here: their merges read them whole as before.
 */
import { TimeSeriesError } from '../errors.ts';
import type { Columns } from './columns.ts';
import type { SegmentEntry } from './manifest.ts';
import { DecodeScratch } from './parquet/rows-into.ts';
import { RunSlabs } from './run-slabs.ts';
import { copyRows, SegmentRows } from './segment-columns.ts';
import type { StagedFiles } from './staged-files.ts';

/** Metadata arrays of released runs kept for the next (a row group's runs are read at a time). */
const SPARE_METAS = 16;

interface OpenFile {
  rows: SegmentRows | undefined;
  release: () => Promise<void>;
}

export class MergeInputs {
  private readonly files = new Map<string, Promise<OpenFile>>();
  private readonly staged: Pick<StagedFiles, 'acquire'>;
  private readonly url: string;
  private readonly cached: (e: SegmentEntry) => Columns | undefined;
  private readonly spareMetas: (string | undefined)[][] = [];
  private readonly slabs = new RunSlabs();
  /** Decoding arrays shared by the input files (read one range at a time): ~2 MiB, not 2 a file. */
  private readonly scratch = new DecodeScratch();

  constructor(
    staged: Pick<StagedFiles, 'acquire'>,
    url: string,
    cached: (e: SegmentEntry) => Columns | undefined,
  ) {
    this.staged = staged;
    this.url = url;
    this.cached = cached;
  }

  private file(key: string): Promise<OpenFile> {
    let f = this.files.get(key);
    if (!f) {
      f = (async () => {
        const { file, release } = await this.staged.acquire(key);
        try {
          return { rows: await SegmentRows.open(file, `${this.url}/${key}`, this.scratch), release };
        } catch (error) {
          await release();
          throw error;
        }
      })();
      this.files.set(key, f);
    }
    return f;
  }

  /** Whether every entry's file is one this reader decodes. */
  async decodes(entries: readonly SegmentEntry[]): Promise<boolean> {
    for (const e of entries) if (!(await this.file(e.key)).rows) return false;
    return true;
  }

  /**
   * The rows of `parts` (files `decodes` said yes to; in time order, each ending before the next
   * and before `after` begins), then `after`'s, as one Columns: laid end to end they are merged.
   * Each part is decoded straight into it and checked against the rows its entry names.
   */
  async readRun(parts: readonly SegmentEntry[], after?: Columns): Promise<Columns> {
    const total = parts.reduce((n, e) => n + e.rows, after?.length ?? 0);
    // Strings only where a row has one (most runs are numbers); metadata in an array a run
    // released before held, when there is one (a slot a row: 8 bytes of V8's heap each).
    const metas = this.spareMetas.pop() ?? [];
    metas.length = total;
    const c = this.slabs.columns(total, { strs: [], metas });
    let n = 0;
    for (const e of parts) {
      const hit = this.cached(e);
      let next: number;
      if (hit) next = copyRows(c, n, hit);
      else {
        const rows = (await this.file(e.key)).rows as SegmentRows;
        const from = e.rowStart ?? 0;
        const have = e.rowStart === undefined ? rows.numRows : Math.min(e.rows, rows.numRows - from);
        next = have === e.rows ? await rows.readInto(c, n, from, from + have) : n + Math.max(0, have);
      }
      // A file shorter than its entries say would hand one variable's rows to another.
      if (next - n !== e.rows)
        throw new TimeSeriesError(
          `Time-series segment ${this.url}/${e.key} has ${next - n} rows where the manifest names ${e.rows}`,
          { context: { key: e.key, rows: next - n, expected: e.rows } },
        );
      n = next;
    }
    if (after) n = copyRows(c, n, after);
    for (let i = 0; i < n; i++) c.seq[i] = i;
    return c;
  }

  /**
   * Frees what readRun gave once its rows are written (and nothing keeps them): the typed columns'
   * memory (run-slabs.ts), the metadata array for the next run.
   */
  recycle(c: Columns): void {
    this.slabs.release(c);
    if (this.spareMetas.length < SPARE_METAS) this.spareMetas.push(c.metas);
  }

  /** Closes and releases every file opened (those that failed to open were released then). */
  async close(): Promise<void> {
    const opened = await Promise.allSettled(this.files.values());
    this.files.clear();
    this.slabs.close();
    this.scratch.release();
    for (const o of opened)
      if (o.status === 'fulfilled') {
        await o.value.rows?.close();
        await o.value.release();
      }
  }
}
