/**
 * Where the time and the memory of sluice's append path go (issue #21): appends one data set of
 * bench/timeseries.ts to a fresh store and prints
 *
 *   - the time inside storeDataPoints and inside compaction, per million points;
 *   - with --cpu: a CPU profile of the whole run (node:inspector), self time per function in ms per
 *     million points, grouped by where the function lives (sluice, the input producer, DuckDB,
 *     Node, the garbage collector, idle = waiting for the disk or DuckDB's threads);
 *   - memory: peak RSS beyond the process after start-up, and the live memory (V8 heap used +
 *     external, after a full GC) sampled every --sample points, beside what the same process
 *     reaches producing the input alone (--mode producer); and the peak of each part of it checked
 *     after every batch (V8's old and new generation, large objects, array buffers).
 *
 * A sample's full GC changes how V8 sizes its heap (it shrinks the input's own garbage, which V8
 * otherwise lets grow to a multiple of what is live), so the peak RSS a user's process reaches is
 * the one of a run with `--sample` equal to `--points` (one sample, at the end).
 *
 *   node --expose-gc bench/timeseries-profile.ts [--points 2000000] [--dataset real100]
 *        [--mode end|background|producer] [--compact-bytes N] [--cpu] [--top 30] [--sample 250000] [--trace]
 *
 * Modes: `end` compacts once after all appends (compactPoints/compactBytes 0); `background` uses the
 * store's defaults (compaction by count and bytes in the background, appends wait when memory is
 * full) and a last compact(); `producer` makes and parses the batches and drops them.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { TimeSeriesStore } from '../src/timeseries/index.ts';
import { BATCH, DATASETS, makeBatch } from './timeseries-data.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const N = Number(arg('points', '2000000'));
const ds = DATASETS[arg('dataset', 'real100')];
const mode = arg('mode', 'end');
const SAMPLE = Number(arg('sample', '250000'));
const TOP = Number(arg('top', '30'));
/** --compact-bytes: the store's compactBytes in background mode (default: the store's default). */
const COMPACT_BYTES = arg('compact-bytes', '');
/** --trace: print every memory sample (points so far, buffered, V8 heap committed / used, external, array buffers, RSS). */
const TRACE = process.argv.includes('--trace');
if (!ds) throw new Error(`--dataset must be one of ${Object.keys(DATASETS).join(', ')}`);
if (!['end', 'background', 'producer'].includes(mode))
  throw new Error('--mode must be end, background or producer');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const statusMiB = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
let liveParts = { heapUsed: 0, external: 0, arrayBuffers: 0, rss: 0 };
const liveMiB = () => {
  gc();
  const m = process.memoryUsage();
  liveParts = { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
  return (m.heapUsed + m.external) / 2 ** 20;
};

/** The most each part of the memory reached after any batch, MiB (no GC forced for it). */
const peakParts = { old_space: 0, new_space: 0, large_object_space: 0, arrayBuffers: 0 };
type Part = keyof typeof peakParts;
function notePeaks(): void {
  for (const sp of getHeapSpaceStatistics())
    if (sp.space_name in peakParts) {
      const k = sp.space_name as Part;
      peakParts[k] = Math.max(peakParts[k], sp.space_size / 2 ** 20);
    }
  peakParts.arrayBuffers = Math.max(peakParts.arrayBuffers, process.memoryUsage().arrayBuffers / 2 ** 20);
}

const dir = path.join(tmpdir(), `sluice-ts-profile-${process.pid}`);
rmSync(dir, { recursive: true, force: true });
const store =
  mode === 'producer'
    ? undefined
    : await TimeSeriesStore.open(
        dir,
        mode === 'end'
          ? { compactIntervalMs: 0, compactPoints: 0, compactBytes: 0 }
          : { compactIntervalMs: 0, ...(COMPACT_BYTES ? { compactBytes: Number(COMPACT_BYTES) } : {}) },
      );
makeBatch(ds, 0, BATCH);
const baseRss = statusMiB('VmRSS');
const baseLive = liveMiB();
try {
  writeFileSync('/proc/self/clear_refs', '5'); // VmHWM from here (Linux ≥ 4.0)
} catch {
  console.log('note: /proc/self/clear_refs refused; peak RSS counts from process start');
}

const session = new Session();
if (process.argv.includes('--cpu')) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}

let appendMs = 0;
let makeMs = 0;
let peakLive = 0;
let peakBuffered = 0;
/** memoryUsage() at the sample with the most live memory, and the points buffered then. */
let atPeak = { ...liveParts, buffered: 0 };
let sampleMs = 0;
if (TRACE)
  console.log(
    '  points      buffered  heap committed/used  external  array buffers  RSS (MiB; after a full GC)',
  );
const t0 = performance.now();
for (let i = 0; i < N; i += BATCH) {
  let t = performance.now();
  const batch = makeBatch(ds, i, Math.min(N, i + BATCH));
  makeMs += performance.now() - t;
  t = performance.now();
  await store?.storeDataPoints(batch);
  appendMs += performance.now() - t;
  notePeaks();
  if ((i + BATCH) % SAMPLE === 0) {
    t = performance.now();
    const live = liveMiB() - baseLive;
    const buffered = store ? (await store.stats()).bufferedPoints : 0;
    if (live > peakLive) atPeak = { ...liveParts, buffered };
    peakLive = Math.max(peakLive, live);
    peakBuffered = Math.max(peakBuffered, buffered);
    if (TRACE) {
      const mib = (b: number) => (b / 2 ** 20).toFixed(0).padStart(5);
      const m = process.memoryUsage();
      console.log(
        `  ${String(i + BATCH).padStart(11)} ${String(buffered).padStart(9)} ${mib(m.heapTotal)} ${mib(liveParts.heapUsed)} ${mib(liveParts.external)} ${mib(liveParts.arrayBuffers)} ${mib(liveParts.rss)}`,
      );
    }
    sampleMs += performance.now() - t;
  }
}
const t = performance.now();
await store?.compact();
const lastCompactMs = performance.now() - t;
const wallMs = performance.now() - t0 - sampleMs;
peakLive = Math.max(peakLive, liveMiB() - baseLive);
const peakRss = statusMiB('VmHWM') - baseRss;

const perM = (ms: number) => `${((ms / N) * 1e6).toFixed(0)} ms/M`;
console.log(
  `${N.toLocaleString('en')} points, ${ds.label}, mode ${mode}; machine shared and loaded: compare runs, not absolute times`,
);
console.log(
  `  inside storeDataPoints ${perM(appendMs)} (${(((N / appendMs) * 1000) / 1e6).toFixed(2)} M pts/s); last compact() ${perM(lastCompactMs)}; making batches ${perM(makeMs)}`,
);
console.log(
  `  sustained: wall time less batch making ${perM(wallMs - makeMs)} → ${(((N / (wallMs - makeMs)) * 1000) / 1e6).toFixed(2)} M pts/s`,
);
console.log(
  `  memory beyond start-up: peak RSS ${peakRss.toFixed(0)} MiB; peak live (heap used + external after GC, every ${SAMPLE.toLocaleString('en')} points) ${peakLive.toFixed(0)} MiB; most points buffered at a sample ${peakBuffered.toLocaleString('en')}`,
);

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
console.log(
  `  at the peak live sample: heap used ${mib(atPeak.heapUsed)}, external ${mib(atPeak.external)} (array buffers ${mib(atPeak.arrayBuffers)}), RSS ${mib(atPeak.rss)}; ${atPeak.buffered.toLocaleString('en')} points buffered (${mib(atPeak.buffered * 29)} of columns at 29 B/point); at start-up: live ${baseLive.toFixed(0)} MiB, RSS ${baseRss.toFixed(0)} MiB`,
);

console.log(
  `  peaks after any batch: V8 old generation ${peakParts.old_space.toFixed(0)} MiB, new ${peakParts.new_space.toFixed(0)}, large objects ${peakParts.large_object_space.toFixed(0)}; array buffers ${peakParts.arrayBuffers.toFixed(0)} MiB`,
);

if (process.argv.includes('--cpu')) {
  const { profile } = await session.post('Profiler.stop');
  printProfile(profile as unknown as CpuProfile);
}
await store?.close();
rmSync(dir, { recursive: true, force: true });

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** The place a frame's code lives, or undefined for Node and V8 built-ins (counted to their caller). */
function placeOf(url: string, functionName: string): string | undefined {
  if (url.includes('/src/timeseries/')) return 'sluice src/timeseries';
  if (url.includes('/src/')) return 'sluice src (other)';
  if (url.includes('/bench/timeseries-data')) return 'input producer (bench)';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.includes('duckdb')) return 'DuckDB (JS side)';
  if (!url && functionName.startsWith('(')) return functionName;
  return undefined;
}

/**
 * Self time per function, and per place: a built-in (JSON.parse, a write, crc32) counts to the
 * nearest caller in a known place, so the input producer's parsing is not mistaken for sluice's.
 * Also the inclusive time of sluice's functions. All in ms per million points.
 */
function printProfile(p: CpuProfile): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const { functionName, url, lineNumber } = (byId.get(id) as CpuProfile['nodes'][number]).callFrame;
    return `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const groups = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const us = p.timeDeltas[i] ?? 0;
    self.set(label(id), (self.get(label(id)) ?? 0) + us);
    let where: string | undefined;
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const { url, functionName } = (byId.get(x) as CpuProfile['nodes'][number]).callFrame;
      where ??= placeOf(url, functionName);
      const l = label(x);
      if (url.includes('/src/timeseries/') && !seen.has(l)) {
        seen.add(l);
        inclusive.set(l, (inclusive.get(l) ?? 0) + us);
      }
    }
    where ??= 'Node and V8 (no caller in a known place)';
    groups.set(where, (groups.get(where) ?? 0) + us);
  }
  const ms = (us: number) => `${((us / 1000 / N) * 1e6).toFixed(1).padStart(8)} ms/M`;
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  console.log('\nCPU profile, self time by place (built-ins counted to their caller):');
  for (const [g, us] of top(groups, 20)) console.log(`  ${ms(us)}  ${g}`);
  console.log(`CPU profile, top ${TOP} functions by self time:`);
  for (const [f, us] of top(self, TOP)) console.log(`  ${ms(us)}  ${f}`);
  console.log(`CPU profile, top ${TOP} sluice functions by inclusive time:`);
  for (const [f, us] of top(inclusive, TOP)) console.log(`  ${ms(us)}  ${f}`);
}
