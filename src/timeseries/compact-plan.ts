/**
 * What a compaction rewrites, decided per variable and window before anything is read: which of
 * a variable's segments its new points merge with, which of its segments merge among themselves to
 * keep a window to SEGMENTS_PER_WINDOW, which files are mostly replaced runs and have the rest
 * carried out, and how the runs to write are packed into files. Nothing else is rewritten: a
 * variable's segments that new points do not meet stay where they are, in whatever file.
 */
import type { SegmentEntry } from './manifest.ts';

/**
 * Segments of one variable in one window a compaction leaves as they are while it adds newer ones
 * beside them; past this many it merges some (mergeToKeepWindow), so a read of a window opens few
 * files.
 */
export const SEGMENTS_PER_WINDOW = 8;

/** What one variable's new points in one window rewrite. */
export interface VariablePlan {
  /** Segments merged with the new points (those their time range meets, at least). */
  withPoints: SegmentEntry[];
  /** Other segments merged into one run of their own, keeping the window to SEGMENTS_PER_WINDOW. */
  among: SegmentEntry[];
}

interface Item {
  min: number;
  rows: number;
  segs: SegmentEntry[];
  isNew: boolean;
}

/**
 * The plan for a variable whose segments in the window are `inWindow` and whose new points span
 * [lo, hi] (`rows` of them). Points later than every segment — the usual case — are written beside
 * them. When the window would then hold more than SEGMENTS_PER_WINDOW segments, the newest two are
 * merged, and the merge grows to older neighbours while it outweighs the next older one: sizes
 * then fall from old to new, and a point is rewritten about log(compactions of its window) times,
 * where merging the whole window each time it filled up rewrote it once per 8 compactions.
 */
export function planVariable(
  inWindow: readonly SegmentEntry[],
  lo: number,
  hi: number,
  rows: number,
): VariablePlan {
  const meeting = inWindow.filter((s) => s.maxMicros >= lo && s.minMicros <= hi);
  // The usual case, and cheap: room for one more segment.
  if (inWindow.length - meeting.length + 1 <= SEGMENTS_PER_WINDOW) return { withPoints: meeting, among: [] };
  const items: Item[] = inWindow
    .filter((s) => !meeting.includes(s))
    .map((s) => ({ min: s.minMicros, rows: s.rows, segs: [s], isNew: false }));
  items.push({
    min: Math.min(lo, ...meeting.map((s) => s.minMicros)),
    rows: rows + meeting.reduce((n, s) => n + s.rows, 0),
    segs: meeting,
    isNew: true,
  });
  items.sort((a, b) => a.min - b.min);
  let i = items.length - 2;
  let size = (items[i] as Item).rows + (items[i + 1] as Item).rows;
  // Merging items[i..] leaves i + 1 segments.
  while (i > 0 && (size > (items[i - 1] as Item).rows || i + 1 > SEGMENTS_PER_WINDOW)) {
    i--;
    size += (items[i] as Item).rows;
  }
  const merged = items.slice(i);
  const segs = merged.flatMap((m) => m.segs);
  if (merged.some((m) => m.isNew)) return { withPoints: segs, among: [] };
  return { withPoints: meeting, among: segs };
}

/** Files whose named rows fall to this fraction of their rows or below have the rest carried out. */
const CARRY_BELOW = 0.5;

/**
 * Runs to carry, unchanged, into this compaction's files: the still-named runs of files (in
 * windows it writes) that `replaced` leaves mostly dead, so replaced rows do not pin their files'
 * space for as long as one other variable's run lives there. Files of one variable never qualify.
 */
export function runsToCarry(
  segments: readonly SegmentEntry[],
  windows: ReadonlySet<number>,
  replaced: ReadonlySet<SegmentEntry>,
): SegmentEntry[] {
  const live = new Map<string, { rows: number; fileRows: number; entries: SegmentEntry[] }>();
  for (const s of segments) {
    if (s.file === undefined || !windows.has(s.window)) continue;
    let f = live.get(s.key);
    if (!f) {
      f = { rows: 0, fileRows: s.file.rows, entries: [] };
      live.set(s.key, f);
    }
    if (!replaced.has(s)) {
      f.rows += s.rows;
      f.entries.push(s);
    }
  }
  const out: SegmentEntry[] = [];
  for (const f of live.values())
    if (f.entries.length > 0 && f.rows <= f.fileRows * CARRY_BELOW) for (const e of f.entries) out.push(e);
  return out;
}

/** Most rows a compaction puts in one file (a variable's run is never split). */
export const FILE_ROWS = 1 << 20;

/**
 * Packs runs into files: a file holds one run per variable (entries of a file are told apart by
 * variable) and at most FILE_ROWS rows unless one run alone is larger. Runs keep their order.
 */
export function packRuns<T extends { variable: string; rows: number }>(runs: readonly T[]): T[][] {
  const files: { rows: number; vars: Set<string>; runs: T[] }[] = [];
  for (const r of runs) {
    let f = files.find((x) => !x.vars.has(r.variable) && (x.rows === 0 || x.rows + r.rows <= FILE_ROWS));
    if (!f) {
      f = { rows: 0, vars: new Set<string>(), runs: [] };
      files.push(f);
    }
    f.rows += r.rows;
    f.vars.add(r.variable);
    f.runs.push(r);
  }
  return files.map((f) =>
    f.runs.sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0)),
  );
}
