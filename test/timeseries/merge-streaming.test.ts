/**
 * A compaction merging a window's segments reads one variable's run at a time, when the segment
 * writer reaches it (merge-inputs.ts, segment-file-writer.ts LazyRun): never the merged files
 * whole. Merged files read back as the points were before the merge, lazy runs encode to the
 * same bytes as the same runs in memory, and a run that reads back short fails the compaction
 * with nothing stored changed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimeSeriesError } from '../../src/errors.ts';
import { T_NUMBER, T_STRING } from '../../src/timeseries/codec.ts';
import type { Columns } from '../../src/timeseries/columns.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { SegmentRows } from '../../src/timeseries/segment-columns.ts';
import { encodeSegmentFile, type Run } from '../../src/timeseries/segment-file-writer.ts';
import { SegmentFiles } from '../../src/timeseries/segments.ts';
import { tempDir } from '../helpers/tmp.ts';

const T0 = Date.UTC(2024, 0, 1);
const VARS = Array.from({ length: 12 }, (_, i) => `v${String(i).padStart(2, '0')}`);
const PER_ROUND = 300;

function segmentFiles(dir: string): string[] {
  const root = path.join(dir, 'segments');
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.parquet'))
    .sort();
}

/** Round `round`'s points: every variable, PER_ROUND in order after the previous round's; texts and metadata on some. */
function roundPoints(round: number, per = PER_ROUND) {
  return VARS.flatMap((variable, k) =>
    Array.from({ length: per }, (_, i) => ({
      variable,
      timestamp: T0 + (round * per + i) * 1000,
      value: i % 7 === 0 ? `s${k}-${i}` : round * 1000 + i + k / 100,
      ...(i % 5 === 0 ? { metadata: { round, k } } : {}),
    })),
  );
}

const OPTIONS = { compactIntervalMs: 0, compactPoints: 0 };

/**
 * Eight compactions of in-order rounds: eight segments per variable in one window, in eight
 * shared files; then the writer reopened (no runs cached: a merge reads them from the files).
 */
async function eightSegments(dir: string, per = PER_ROUND) {
  const store = await TimeSeriesStore.open(dir, OPTIONS);
  for (let round = 0; round < 8; round++) {
    await store.storeDataPoints(roundPoints(round, per));
    await store.compact();
  }
  expect((await store.stats()).segments).toBe(8 * VARS.length);
  await store.close();
  return TimeSeriesStore.open(dir, OPTIONS);
}

/** Every variable's points and latest point, as a fresh reader of the store's segments sees them. */
async function stored(dir: string) {
  const reader = await TimeSeriesStore.open(dir, { readOnly: true });
  try {
    const out: unknown[] = [];
    for (const v of VARS) out.push(await reader.queryAll(v), await reader.latest(v));
    return out;
  } finally {
    await reader.close();
  }
}

/** Notes how many entries each up-front read of whole segments (SegmentFiles.readMany) asks for. */
function countWholeReads(into: number[]): void {
  const readMany = SegmentFiles.prototype.readMany;
  vi.spyOn(SegmentFiles.prototype, 'readMany').mockImplementation(async function (this: SegmentFiles, e) {
    into.push(e.length);
    return readMany.call(this, e);
  });
}

/**
 * Sees every range a merge reads of its input files (SegmentRows.readInto): `seen` gets the range
 * and the row after it was read into the run, and returns what the merge is told instead.
 */
function onRunReads(seen: (from: number, to: number, next: number) => number): void {
  const readInto = SegmentRows.prototype.readInto;
  vi.spyOn(SegmentRows.prototype, 'readInto').mockImplementation(async function (
    this: SegmentRows,
    c,
    n,
    from,
    to,
  ) {
    return seen(from, to, await readInto.call(this, c, n, from, to));
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a compaction merging many segments', () => {
  it('reads one variable run at a time, and the merged files read back as before the merge', async () => {
    const dir = path.join(tempDir('ts-merge-stream'), 'store');
    const store = await eightSegments(dir);
    const before = await stored(dir);
    const reads: number[] = [];
    const wholeReads: number[] = [];
    try {
      await store.storeDataPoints(roundPoints(8));
      onRunReads((from, to, next) => {
        reads.push(to - from);
        return next;
      });
      countWholeReads(wholeReads);
      const r = await store.compact();
      vi.restoreAllMocks();
      // The ninth segment of each variable merges all nine into one run per variable.
      expect(r.pointsRewritten).toBe(8 * PER_ROUND * VARS.length);
      expect((await store.stats()).segments).toBe(VARS.length);
      // Nothing read up front; each read is one variable's run of one file (one segment).
      expect(wholeReads.every((n) => n === 0)).toBe(true);
      expect(reads).toHaveLength(8 * VARS.length);
      expect(Math.max(...reads)).toBe(PER_ROUND);
    } finally {
      await store.close();
    }
    // The merged runs hold the eight rounds' points as they were, then the ninth round's.
    const after = await stored(dir);
    const end = T0 + 8 * PER_ROUND * 1000;
    VARS.forEach((v, k) => {
      const points = after[2 * k] as { timestamp: string }[];
      expect(points, v).toHaveLength(9 * PER_ROUND);
      expect(
        points.filter((p) => Date.parse(p.timestamp) < end),
        v,
      ).toEqual(before[2 * k]);
      expect(after[2 * k + 1], v).toEqual(points[points.length - 1]);
    });
  });

  it('reads short runs one by one too (the 60-row runs of 10,000 variables), and they read back as before', async () => {
    const per = 20;
    const dir = path.join(tempDir('ts-merge-short-runs'), 'store');
    const store = await eightSegments(dir, per);
    const before = await stored(dir);
    const runReads: number[] = [];
    const wholeReads: number[] = [];
    try {
      await store.storeDataPoints(roundPoints(8, per));
      onRunReads((from, to, next) => {
        runReads.push(to - from);
        return next;
      });
      countWholeReads(wholeReads);
      const r = await store.compact();
      vi.restoreAllMocks();
      expect(r.pointsRewritten).toBe(8 * per * VARS.length);
      expect(runReads).toEqual(Array(8 * VARS.length).fill(per));
      expect(wholeReads.every((n) => n === 0)).toBe(true);
    } finally {
      await store.close();
    }
    const after = await stored(dir);
    for (const [k, v] of VARS.entries()) {
      const points = after[2 * k] as unknown[];
      expect(points, v).toHaveLength(9 * per);
      expect(points.slice(0, 8 * per), v).toEqual(before[2 * k]);
    }
  });

  it('that reads a run back short fails, and leaves the manifest, the files and the points as they were', async () => {
    const dir = path.join(tempDir('ts-merge-short'), 'store');
    const store = await eightSegments(dir);
    try {
      await store.storeDataPoints(roundPoints(8));
      const before = await stored(dir);
      const files = segmentFiles(dir);
      const manifest = readFileSync(path.join(dir, 'manifest.json'));
      let calls = 0;
      // The fifth run read loses its last row.
      onRunReads((_from, _to, next) => (++calls === 5 ? next - 1 : next));
      const failed = await store.compact().catch((e: unknown) => e);
      vi.restoreAllMocks();
      expect(failed).toBeInstanceOf(TimeSeriesError);
      expect(String((failed as Error).message)).toMatch(
        new RegExp(`has ${PER_ROUND - 1} rows where the manifest names ${PER_ROUND}`),
      );
      expect(segmentFiles(dir)).toEqual(files);
      expect(readFileSync(path.join(dir, 'manifest.json'))).toEqual(manifest);
      expect(await stored(dir)).toEqual(before);
      // The next compaction does it.
      await store.compact();
      expect((await store.stats()).segments).toBe(VARS.length);
      expect((await stored(dir)).filter((_, i) => i % 2 === 0).map((q) => (q as unknown[]).length)).toEqual(
        VARS.map(() => 9 * PER_ROUND),
      );
    } finally {
      await store.close();
    }
  });
});

/** A run of `n` points of `variable` from micros `t0`: numbers, texts every 3rd, metadata every 4th. */
function run(variable: string, t0: number, n: number): Run {
  const cols: Columns = {
    length: n,
    micros: Float64Array.from({ length: n }, (_, i) => t0 + i),
    seq: Float64Array.from({ length: n }, (_, i) => i),
    type: Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? T_STRING : T_NUMBER)),
    num: Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : i * 1.5)),
    strs: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `t${i % 11}` : undefined)),
    metas: Array.from({ length: n }, (_, i) => (i % 4 === 0 ? `{"m":${i % 5}}` : undefined)),
  };
  return { variable, cols };
}

describe('lazy runs', () => {
  it('are read once each, in order, and encode to the same bytes as the runs in memory', async () => {
    const runs = [run('a', 0, 250), run('b', 10, 0), run('c', 20, 1), run('d', 30, 420), run('e', 40, 99)];
    const eager = await encodeSegmentFile(runs, 100);
    const loads: string[] = [];
    const lazy = await encodeSegmentFile(
      runs.map((r) => ({
        variable: r.variable,
        rows: r.cols.length,
        load: async () => {
          loads.push(r.variable);
          return r.cols;
        },
      })),
      100,
    );
    expect(loads).toEqual(['b', 'a', 'c', 'd', 'e']);
    expect(lazy.bytes).toEqual(eager.bytes);
    expect(lazy.starts).toEqual(eager.starts);
    expect(lazy.ends).toEqual(eager.ends);
  });

  it('that read back other than the rows counted fail the file', async () => {
    const r = run('a', 0, 50);
    const lying = { variable: 'a', rows: 51, load: async () => r.cols };
    await expect(encodeSegmentFile([lying], 100)).rejects.toThrow(
      /run of a read back 50 rows where 51 were to be written/,
    );
  });
});
