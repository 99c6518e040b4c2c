/**
 * Write amplification of compaction over many compactions (docs/timeseries.md, "Segment layout"):
 * C compactions of N points each over 10,000 variables (bench/timeseries-data.ts's parsed-JSON
 * set), each compaction's points later than the last's, all in one window, so the 8-segment limit
 * makes merges happen. Prints compaction time ÷ append time, points rewritten per point, segment
 * bytes written ÷ final segment bytes, and the manifest's share of what was written.
 *
 *   node bench/segment-layout.ts            C=12, N=100,000
 *   BENCH_COMPACTIONS=c BENCH_POINTS=n node bench/segment-layout.ts
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TimeSeriesStore } from '../src/timeseries/index.ts';
import { DATASETS, forEachBatch } from './timeseries-data.ts';

const C = Number(process.env.BENCH_COMPACTIONS ?? 12);
const N = Number(process.env.BENCH_POINTS ?? 100_000);
const ds = DATASETS.real10k;
if (!ds) throw new Error('no real10k data set');
const dir = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-bench-seg-')), 'store');

/** Files under `d` with their sizes. */
function files(d: string, out = new Map<string, number>()): Map<string, number> {
  if (!existsSync(d)) return out;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) files(p, out);
    else out.set(p, statSync(p).size);
  }
  return out;
}
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
const perVariableSeconds = N / ds.variables;
let appendMs = 0;
let compactMs = 0;
let rewritten = 0;
let segmentBytes = 0;
let manifestBytes = 0;
for (let c = 0; c < C; c++) {
  const shift = c * perVariableSeconds * 1000;
  appendMs += await forEachBatch(ds, N, (batch) =>
    store.storeDataPoints(
      batch.map((p) => ({
        ...p,
        timestamp: new Date(Date.parse(p.timestamp as string) + shift).toISOString(),
      })),
    ),
  );
  const before = files(path.join(dir, 'segments'));
  const t = performance.now();
  rewritten += (await store.compact()).pointsRewritten;
  compactMs += performance.now() - t;
  for (const [f, size] of files(path.join(dir, 'segments'))) if (before.get(f) !== size) segmentBytes += size;
  manifestBytes += statSync(path.join(dir, 'manifest.json')).size;
}
const finalSegments = sum(files(path.join(dir, 'segments')));
const stats = await store.stats();
await store.close();
rmSync(path.dirname(dir), { recursive: true, force: true });

console.log(
  `${C} compactions of ${N.toLocaleString('en')} points over ${ds.variables.toLocaleString('en')} variables, in order, one window:`,
);
console.log(`  compaction time ÷ append time: ${(compactMs / appendMs).toFixed(2)}`);
console.log(`  points rewritten per point: ${(rewritten / (C * N)).toFixed(2)}`);
console.log(`  segment bytes written ÷ final segment bytes: ${(segmentBytes / finalSegments).toFixed(2)}`);
console.log(
  `  manifest bytes written: ${(manifestBytes / 1e6).toFixed(1)} MB over ${C} publishes, against ${(segmentBytes / 1e6).toFixed(1)} MB of segment files`,
);
console.log(`  at the end: ${stats.segments.toLocaleString('en')} segment entries`);
