/**
 * What a compaction rewrites (compact-plan.ts), on made-up segments: a window never holds more
 * than 8 segments of a variable, in-order points rewrite about log(compactions) times their size
 * (the rule before rewrote the whole window every 8th compaction), late points merge only what
 * they meet, and files never hold a variable twice.
 */
import { describe, expect, it } from 'vitest';
import { FILE_ROWS, packRuns, planVariable, SEGMENTS_PER_WINDOW } from '../../src/timeseries/compact-plan.ts';
import type { SegmentEntry } from '../../src/timeseries/manifest.ts';

let id = 0;
const seg = (min: number, max: number, rows: number): SegmentEntry => ({
  key: `k${++id}`,
  variable: 'x',
  window: 0,
  minMicros: min,
  maxMicros: max,
  rows,
  bytes: rows,
});

/** Runs `compactions` compactions of `per` in-order points each; returns rows rewritten ÷ rows added. */
function inOrder(compactions: number, per: number): { amplification: number; most: number } {
  let segs: SegmentEntry[] = [];
  let rewritten = 0;
  let most = 0;
  for (let c = 0; c < compactions; c++) {
    const lo = c * per;
    const plan = planVariable(segs, lo, lo + per - 1, per);
    const gone = new Set([...plan.withPoints, ...plan.among]);
    for (const s of gone) rewritten += s.rows;
    const merged = (parts: SegmentEntry[], extra: number, from: number, to: number) =>
      seg(
        Math.min(from, ...parts.map((s) => s.minMicros)),
        Math.max(to, ...parts.map((s) => s.maxMicros)),
        extra + parts.reduce((n, s) => n + s.rows, 0),
      );
    const next = segs.filter((s) => !gone.has(s));
    next.push(merged(plan.withPoints, per, lo, lo + per - 1));
    if (plan.among.length > 0)
      next.push(merged(plan.among, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY));
    segs = next.sort((a, b) => a.minMicros - b.minMicros);
    most = Math.max(most, segs.length);
    // Segments never overlap in time.
    for (let i = 1; i < segs.length; i++)
      expect((segs[i - 1] as SegmentEntry).maxMicros).toBeLessThan((segs[i] as SegmentEntry).minMicros);
  }
  return { amplification: rewritten / (compactions * per), most };
}

describe('compaction plan', () => {
  it('keeps a window to 8 segments, rewriting in-order points about log(compactions) times', () => {
    // A day window compacted every minute: 1,440 compactions. Merging the whole window whenever
    // it filled up rewrote each point ~90 times; merging the newest while they outweigh their
    // older neighbour, under 5.
    const day = inOrder(1_440, 100);
    expect(day.most).toBe(SEGMENTS_PER_WINDOW);
    expect(day.amplification).toBeLessThan(5);
    expect(inOrder(100, 100).amplification).toBeLessThan(3);
    expect(inOrder(8, 100).amplification).toBe(0);
  });

  it('merges late points with the segments they meet only, while the window has room', () => {
    const segs = [seg(0, 9, 10), seg(10, 19, 10), seg(20, 29, 10)];
    expect(planVariable(segs, 12, 15, 2)).toEqual({ withPoints: [segs[1]], among: [] });
    expect(planVariable(segs, 9, 10, 2)).toEqual({ withPoints: [segs[0], segs[1]], among: [] });
    expect(planVariable(segs, 30, 40, 2)).toEqual({ withPoints: [], among: [] });
  });

  it('packs runs into files holding each variable once and at most FILE_ROWS rows', () => {
    const runs = [
      { variable: 'b', rows: 10 },
      { variable: 'a', rows: 10 },
      { variable: 'a', rows: 5 },
      { variable: 'c', rows: FILE_ROWS },
      { variable: 'd', rows: 1 },
    ];
    const files = packRuns(runs);
    for (const f of files) expect(new Set(f.map((r) => r.variable)).size).toBe(f.length);
    for (const f of files)
      if (f.length > 1) expect(f.reduce((n, r) => n + r.rows, 0)).toBeLessThanOrEqual(FILE_ROWS);
    const key = (r: { variable: string; rows: number }) => `${r.variable}/${r.rows}`;
    expect(files.flat().map(key).sort()).toEqual(runs.map(key).sort());
    expect(files[0]?.map((r) => r.variable)).toEqual(['a', 'b', 'd']);
  });
});
