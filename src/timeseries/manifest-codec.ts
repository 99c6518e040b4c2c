/**
 * The manifest's bytes. Version 1 lists one entry per segment file, each file holding one
 * variable. Version 2 adds `files`: segment files holding many variables, one run of rows per
 * variable, listed column by column (a run per variable in 10,000 would otherwise repeat the key,
 * window and field names 10,000 times). In memory both become the same flat list of entries, one
 * per variable per file, so readers of `segments` need not know the layout. Runs carry no last
 * point (`last`: most of the bytes at 10,000 variables, rewritten at every publish); latest()
 * reads the last rows of a file's runs from the file, all in one scan (segments.ts).
 *
 * A manifest without files of many variables is written as version 1, as before, so earlier
 * versions of sluice still read it; one with them is version 2, which earlier versions refuse
 * ("unknown manifest version") rather than read another variable's rows as their own.
 */
import { TimeSeriesError } from '../errors.ts';
import type { Manifest, SegmentEntry, SegmentFileInfo } from './manifest.ts';

/** A segment file of many variables as version 2 stores it. */
interface StoredFile {
  key: string;
  /** Window start, µs. */
  window: number;
  /** Rows in the file, including runs no entry names any more. */
  rows: number;
  bytes: number;
  /** The runs still named, one per variable, column by column, in row order. */
  runs: {
    variable: string[];
    /**
     * First row of each run in the file; left out while each run starts where the one before
     * ends, the first at row 0 (no run of the file replaced yet).
     */
    start?: number[];
    rows: number[];
    /** Each run's first and last timestamp, µs after the window start (shorter than absolute µs). */
    min: number[];
    max: number[];
  };
}

/** A broken manifest body: what is wrong (readManifest names the store and key), not a TypeError later. */
function unreadable(what: string): never {
  throw new TimeSeriesError(what);
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isMicros = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n);

function numbers(a: unknown, n: number, ok: (x: unknown) => boolean, what: string): number[] {
  if (!Array.isArray(a) || a.length !== n || !a.every(ok))
    unreadable(`${what} is not a list of ${n} integers`);
  return a as number[];
}

/** Starts of runs that follow each other from row 0. */
function contiguous(rows: readonly number[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const r of rows) {
    out.push(at);
    at += r;
  }
  return out;
}

/** The entries of one stored file, checked: runs inside the file, in order, not overlapping. */
function entriesOf(f: StoredFile, i: number): SegmentEntry[] {
  const at = `files[${i}]`;
  if (typeof f?.key !== 'string' || !f.key.startsWith('segments/'))
    unreadable(`${at}.key is not a segment key`);
  if (!isMicros(f.window) || !isCount(f.rows) || !isCount(f.bytes))
    unreadable(`${at} has a bad window, rows or bytes`);
  const r = f.runs;
  if (!Array.isArray(r?.variable) || !r.variable.every((v) => typeof v === 'string'))
    unreadable(`${at}.runs.variable is not a list of names`);
  const n = r.variable.length;
  const rows = numbers(r.rows, n, isCount, `${at}.runs.rows`);
  const start = r.start === undefined ? contiguous(rows) : numbers(r.start, n, isCount, `${at}.runs.start`);
  const min = numbers(r.min, n, isMicros, `${at}.runs.min`);
  const max = numbers(r.max, n, isMicros, `${at}.runs.max`);
  const file: SegmentFileInfo = { rows: f.rows, bytes: f.bytes };
  const out: SegmentEntry[] = [];
  let end = 0;
  for (let k = 0; k < n; k++) {
    const s = start[k] as number;
    const c = rows[k] as number;
    if (s < end || s + c > f.rows || c === 0)
      unreadable(`${at} run ${k} is outside its file or overlaps another`);
    end = s + c;
    out.push({
      key: f.key,
      variable: r.variable[k] as string,
      window: f.window,
      minMicros: f.window + (min[k] as number),
      maxMicros: f.window + (max[k] as number),
      rows: c,
      bytes: f.rows > 0 ? Math.round((f.bytes * c) / f.rows) : 0,
      rowStart: s,
      file,
    });
  }
  return out;
}

/** The manifest in `body` (parsed JSON): version 1 as it is, version 2 flattened into entries. */
export function decodeManifest(m: unknown): Manifest {
  const v = (m as { version?: unknown })?.version;
  if ((v !== 1 && v !== 2) || !Array.isArray((m as Manifest).segments))
    unreadable('unknown manifest version');
  if (v === 1) return m as Manifest;
  const { files, ...rest } = m as Manifest & { files?: StoredFile[] };
  if (!Array.isArray(files)) unreadable('version 2 without files');
  const segments = [...rest.segments];
  files.forEach((f, i) => {
    for (const e of entriesOf(f, i)) segments.push(e);
  });
  return { ...rest, version: 2, segments };
}

/** The JSON of `m`: version 1 while every segment file holds one variable, else version 2. */
export function encodeManifest(m: Manifest): string {
  const single: SegmentEntry[] = [];
  const byKey = new Map<string, SegmentEntry[]>();
  for (const e of m.segments) {
    if (e.rowStart === undefined) single.push(e);
    else {
      const list = byKey.get(e.key);
      if (list) list.push(e);
      else byKey.set(e.key, [e]);
    }
  }
  const { segments: _, version: __, ...rest } = m;
  if (byKey.size === 0) return JSON.stringify({ version: 1, ...rest, segments: single });
  const files: StoredFile[] = [];
  for (const [key, list] of byKey) {
    list.sort((a, b) => (a.rowStart as number) - (b.rowStart as number));
    const first = list[0] as SegmentEntry;
    const start = list.map((e) => e.rowStart as number);
    const rows = list.map((e) => e.rows);
    const packed = contiguous(rows);
    const w = first.window;
    files.push({
      key,
      window: w,
      rows: first.file?.rows ?? list.reduce((s, e) => s + e.rows, 0),
      bytes: first.file?.bytes ?? list.reduce((s, e) => s + e.bytes, 0),
      runs: {
        variable: list.map((e) => e.variable),
        ...(start.every((s, k) => s === packed[k]) ? {} : { start }),
        rows,
        min: list.map((e) => e.minMicros - w),
        max: list.map((e) => e.maxMicros - w),
      },
    });
  }
  return JSON.stringify({ version: 2, ...rest, segments: single, files });
}
