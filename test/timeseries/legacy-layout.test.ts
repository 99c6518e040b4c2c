/**
 * Stores written before segment files held many variables — one Parquet file per variable and
 * window, a version-1 manifest; fixtures/legacy-store was written by that version of sluice
 * (fixtures/make-legacy-store.ts) with its answers beside it — open and answer exactly as they
 * did. Compacting into one rewrites only the old files new points meet, leaves the others where
 * they are, and a fresh reader of the mixed store answers as the writer does.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type StoredPoint, TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'legacy-store');
const T0 = Date.UTC(2024, 0, 1);
const FNS = ['avg', 'count', 'first', 'last', 'min', 'max', 'sum'] as const;

interface Expected {
  variables: string[];
  series: Record<string, StoredPoint[]>;
  latest: Record<string, StoredPoint>;
  aggregates: Record<string, unknown[]>;
  stats: Record<string, unknown>;
}

/** expected.json, with the "-0" it had to write as a string back as -0. */
const expected = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8'), (_k, v) =>
  v === '-0' ? -0 : v,
) as Expected;

const root = tempDir('ts-legacy');
let n = 0;
/** A copy of the fixture store to open (tests write to it). */
function copy(): string {
  const dir = path.join(root, `s${++n}`);
  cpSync(path.join(FIXTURE, 'store'), dir, { recursive: true });
  return dir;
}

const open: TimeSeriesStore[] = [];
async function openStore(dir: string, readOnly = false): Promise<TimeSeriesStore> {
  const s = await TimeSeriesStore.open(
    dir,
    readOnly ? { readOnly } : { compactIntervalMs: 0, compactPoints: 0 },
  );
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** Everything a reader answers that the fixture recorded. */
async function answers(s: TimeSeriesStore, variables: string[]) {
  const out: Omit<Expected, 'stats' | 'variables'> = { series: {}, latest: {}, aggregates: {} };
  for (const v of variables) {
    out.series[v] = await s.queryAll(v);
    out.latest[v] = (await s.latest(v)) as StoredPoint;
    for (const fn of FNS) out.aggregates[`${v}/${fn}`] = await s.aggregate(v, { every: '1h', fn });
  }
  return out;
}

const manifestOf = (dir: string) =>
  JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    version: number;
    segments: { key: string; variable: string }[];
    files?: { key: string; runs: { variable: string[] } }[];
  };

describe('a store written with one file per variable (sluice before #21)', () => {
  it('opens read-only and answers every query, latest and aggregate exactly as that version did', async () => {
    const dir = copy();
    const s = await openStore(dir, true);
    expect(await s.variables()).toEqual(expected.variables);
    const { series, latest, aggregates } = await answers(s, expected.variables);
    expect(series).toEqual(expected.series);
    expect(Object.is(series.b?.[3]?.value, -0)).toBe(true);
    expect(latest).toEqual(expected.latest);
    expect(aggregates).toEqual(expected.aggregates);
    const { walBytes: _, walFiles: __, lastSeq: ___, ...stats } = await s.stats();
    const { lastSeq: ____, ...want } = expected.stats;
    expect(stats).toEqual(want);
  });

  it('takes new points: only the old files they meet are rewritten, the rest stay, and readers agree', async () => {
    const dir = copy();
    const before = manifestOf(dir).segments;
    const w = await openStore(dir);
    // b: a late point among its one segment (rewritten); a: later than all its segments (beside);
    // c: a new variable. x😀 gets nothing.
    await w.storeDataPoint('b', T0 + 2500, 'late');
    await w.storeDataPoints(
      Array.from({ length: 20 }, (_, i) => ({ variable: 'a', timestamp: T0 + 200_000 + i * 1000, value: i })),
    );
    await w.storeDataPoint('c', T0 + 7000, 7);
    const r = await w.compact();
    expect(r.segmentsRemoved).toBe(1);
    expect(r.filesWritten).toBe(1);
    expect(r.pointsRewritten).toBe(expected.series.b?.length);

    const after = manifestOf(dir);
    expect(after.version).toBe(2);
    const legacyB = before.find((e) => e.variable === 'b')?.key as string;
    expect(existsSync(path.join(dir, legacyB))).toBe(false);
    for (const e of before.filter((x) => x.variable !== 'b')) {
      expect(after.segments.map((x) => x.key)).toContain(e.key);
      expect(existsSync(path.join(dir, e.key))).toBe(true);
    }
    expect(after.files?.[0]?.runs.variable).toEqual(['a', 'b', 'c']);

    const want = structuredClone(expected.series);
    want.b = [...(want.b ?? [])];
    want.b.splice(3, 0, expect.objectContaining({ micros: (T0 + 2500) * 1000, value: 'late' }));
    const variables = [...expected.variables, 'c'].sort();
    const writer = await answers(w, variables);
    expect(writer.series.b).toEqual(want.b);
    expect(writer.series.a).toHaveLength((expected.series.a?.length ?? 0) + 20);
    expect(writer.series['x😀']).toEqual(expected.series['x😀']);
    expect(writer.series.c?.map((p) => p.value)).toEqual([7]);
    const reader = await openStore(dir, true);
    expect(await answers(reader, variables)).toEqual(writer);

    // Retention across both layouts: old files and the new one straddle the cut-off.
    const cut = T0 + 30_000;
    await w.applyRetention({ olderThan: new Date(cut).toISOString() });
    const kept = await answers(w, variables);
    for (const v of variables)
      expect(kept.series[v]).toEqual(writer.series[v]?.filter((p) => p.micros >= cut * 1000));
    await reader.refresh();
    expect(await answers(reader, variables)).toEqual(kept);
  });
});
