// Lineage overhead on the time-series store (#19, goal ≤ 5%): appends then a compaction, on local
// disk, in three modes in one run — `lineage: false`; lineage on with appends that name no source
// (the WAL hot path: only the segment records); and lineage on with every append naming its source
// object (one per `--per-object` points, as a worker's jobs from the poller do), so each new object
// costs a lineage record before its first point is acknowledged. Rounds alternate the order; the
// statistic is the median of the per-round ratios against `off`. Absolute times depend on the
// machine's load: read the ratios.
// Usage: node bench/timeseries-lineage.ts [--points N] [--per-object K] [--rounds R]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LineageInput } from '../src/lineage/index.ts';
import { TimeSeriesStore } from '../src/timeseries/store.ts';
import { benchRounds, inRoundOrder, median, medianRatio } from './peers.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const POINTS = arg('--points', 200_000);
const PER_OBJECT = arg('--per-object', 100);
/** Single-point appends in flight at once (a worker's concurrency, many jobs). */
const IN_FLIGHT = 256;
const ROUNDS = benchRounds(7);
const work = mkdtempSync(path.join(tmpdir(), 'sluice-bench-ts-lineage-'));

type Mode = 'off' | 'on' | 'sources';

async function round(mode: Mode, dir: string): Promise<number> {
  const store = await TimeSeriesStore.open(dir, { lineage: mode !== 'off', compactIntervalMs: 0 });
  const t = performance.now();
  try {
    const base = Date.UTC(2024, 0, 1) * 1000;
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < POINTS; i = next++) {
        const object = Math.floor(i / PER_OBJECT);
        const source: LineageInput[] | undefined =
          mode === 'sources'
            ? [{ kind: 'object', url: `s3://bench/in/o${object}.csv`, etag: `"${object.toString(16)}"` }]
            : undefined;
        await store.storeDataPoint(`v${i % 50}`, base + i * 1000, i, null, source ? { source } : undefined);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
    await store.compact();
  } finally {
    await store.close();
  }
  const ms = performance.now() - t;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

try {
  console.log(
    `${POINTS.toLocaleString('en')} single-point appends (${IN_FLIGHT} in flight) + compaction; a source object per ${PER_OBJECT} points; ${ROUNDS} rounds`,
  );
  await round('on', path.join(work, 'warm'));
  const runs: Record<Mode, number[]> = { off: [], on: [], sources: [] };
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of inRoundOrder(['off', 'on', 'sources'] as const, r))
      runs[mode].push(await round(mode, path.join(work, `r${r}-${mode}`)));
  for (const mode of ['off', 'on', 'sources'] as const)
    console.log(
      `${mode.padEnd(8)} median ${median(runs[mode]).toFixed(0)} ms` +
        (mode === 'off' ? '' : `  ratio to off ${medianRatio(runs[mode], runs.off).toFixed(3)}`),
    );
} finally {
  rmSync(work, { recursive: true, force: true });
}
