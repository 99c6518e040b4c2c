/**
 * What each check found, in the words of the stage's promise: records (or files) that went in,
 * came out, were lost, or were duplicated beyond what the stage promises.
 */
import type { PointRow } from './inspect.ts';
import type { Batch } from './plan.ts';

export interface Tally {
  stage: string;
  /** What the stage promises, as docs/soak.md states it. */
  promise: string;
  unit: 'records' | 'jobs' | 'points' | 'rows' | 'files';
  in: number;
  out: number;
  lost: number;
  duplicated: number;
  /** Findings worth a line in the report (capped). */
  details: string[];
  /** Expected and not a loss, counted apart (say, sidecar jobs dead-lettered by design). */
  notes: string[];
}

export function tally(stage: string, promise: string, unit: Tally['unit']): Tally {
  return { stage, promise, unit, in: 0, out: 0, lost: 0, duplicated: 0, details: [], notes: [] };
}

export function detail(t: Tally, line: string): void {
  if (t.details.length < 12) t.details.push(line);
  else if (t.details.length === 12) t.details.push('… (more)');
}

export const pointKey = (variable: string, micros: number) => `${variable}|${micros}`;

export interface ExpectedPoint {
  value: number;
  batch: string;
}

export function expectedPoints(batches: readonly Batch[]): Map<string, ExpectedPoint> {
  const out = new Map<string, ExpectedPoint>();
  for (const b of batches)
    for (const r of b.records)
      out.set(pointKey(r.name, Date.parse(r.timestamp) * 1000), { value: r.value, batch: b.id });
  return out;
}

/**
 * Exactly one row per expected point, with its value: missing ones are lost, a second row of
 * one point is duplicated, a row nobody wrote (or with another value) is reported.
 */
export function comparePoints(
  t: Tally,
  expected: Map<string, ExpectedPoint>,
  rows: readonly PointRow[],
): void {
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = pointKey(row.variable, row.micros);
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const want = expected.get(key);
    if (!want) detail(t, `unexpected point ${key} = ${String(row.value)}`);
    else if (Number(row.value) !== want.value)
      detail(t, `point ${key} holds ${String(row.value)}, batch ${want.batch} sent ${want.value}`);
  }
  t.in += expected.size;
  for (const [key, want] of expected) {
    const n = seen.get(key) ?? 0;
    if (n === 0) {
      t.lost++;
      detail(t, `lost point ${key} (batch ${want.batch})`);
    } else {
      t.out++;
      if (n > 1) {
        t.duplicated += n - 1;
        detail(t, `point ${key} stored ${n} times`);
      }
    }
  }
  const unexpected = [...seen.keys()].filter((k) => !expected.has(k)).length;
  if (unexpected > 0) t.duplicated += unexpected;
}

/** Sums tallies of the same stage across rounds. */
export function addInto(totals: Map<string, Tally>, t: Tally, round: number): void {
  let sum = totals.get(t.stage);
  if (!sum) {
    sum = tally(t.stage, t.promise, t.unit);
    totals.set(t.stage, sum);
  }
  sum.in += t.in;
  sum.out += t.out;
  sum.lost += t.lost;
  sum.duplicated += t.duplicated;
  for (const d of t.details) if (sum.details.length < 24) sum.details.push(`round ${round}: ${d}`);
  for (const n of t.notes) if (sum.notes.length < 24) sum.notes.push(`round ${round}: ${n}`);
}
