/**
 * Peak memory of a read-only reader of a large store (issue #22: ≤ 150 MB at 20M points), each
 * query in a fresh process so its peak RSS is its own, against the same figure for opening the
 * store and doing nothing.
 *
 *   node bench/timeseries-reader.ts             20,000,000 points: 10 variables × 2M, 1 Hz, 23 day windows
 *   node bench/timeseries-reader.ts --quick     2,000,000 points (or BENCH_POINTS=n)
 *
 * The store is built once per size under the system temp folder and reused by later runs
 * (`--rebuild` makes it again). Figures are medians of BENCH_ROUNDS (3) fresh processes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TimeSeriesStore } from '../src/timeseries/index.ts';

const quick = process.argv.includes('--quick');
const N = Number(process.env.BENCH_POINTS ?? (quick ? 2_000_000 : 20_000_000));
const VARS = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const T0 = Date.UTC(2024, 0, 1);
const dir = path.join(tmpdir(), `sluice-bench-ts-reader-${N}`);
// Readers load the built package, as the CLI and library users do (the TypeScript sources add
// Node's type stripper, about 30 MB); the sources only when nothing is built.
const BUILT = path.resolve('dist/timeseries/index.js');
const MODULE = existsSync(BUILT) ? BUILT : path.resolve('src/timeseries/index.ts');

const QUERIES: Record<string, string> = {
  'open only': 'await store.variables()',
  '1-minute avg of one variable (all time)': "await store.aggregate('var_3', { every: '1m', fn: 'avg' })",
  'downsample one variable to 1,000 buckets': `await store.aggregate('var_3', { every: ${Math.ceil(N / VARS / 1000) * 1000}, fn: 'avg' })`,
  'latest of every variable': 'await store.latest(await store.variables())',
  'scan one variable (every point)': "{ let n = 0; for await (const _ of store.query('var_3')) n++; }",
};

async function build(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const store = await TimeSeriesStore.open(dir, { durability: 'os', compactIntervalMs: 0, compactPoints: 0 });
  const perVar = N / VARS;
  const BATCH = 100_000;
  const t = performance.now();
  for (let i = 0; i < perVar; i += BATCH / VARS) {
    const batch = [];
    for (let j = i; j < Math.min(perVar, i + BATCH / VARS); j++)
      for (let v = 0; v < VARS; v++)
        batch.push({
          variable: `var_${v}`,
          timestamp: T0 + j * 1000,
          value: Math.round((20 + 5 * Math.sin(j / 5000) + ((j * 7919 + v) % 100) / 100) * 100) / 100,
          metadata: { unit: 'C', sensor: `s${v}` },
        });
    await store.storeDataPoints(batch);
    if ((i * VARS) % 2_000_000 === 0) {
      await store.compact();
      process.stderr.write(`\rbuilt ${((i * VARS) / 1e6).toFixed(0)}M points`);
    }
  }
  await store.compact();
  await store.close();
  process.stderr.write(`\rbuilt ${N} points in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
}

/** Peak RSS (MB) and time (ms) of one query in a fresh process. */
function measure(code: string): { mb: number; ms: number } {
  const script = `
    import { readFileSync } from 'node:fs';
    import { TimeSeriesStore } from ${JSON.stringify(MODULE)};
    const store = await TimeSeriesStore.open(${JSON.stringify(dir)}, { readOnly: true });
    const t = performance.now();
    ${code};
    const ms = performance.now() - t;
    await store.close();
    // VmHWM, not resourceUsage().maxRSS: the latter survives exec, so a child forked from this
    // process (which may have just built the store) would report the parent's peak.
    const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    console.log(JSON.stringify({ mb: Number(hwm[1]) / 1024, ms }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reader failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

if (process.argv.includes('--rebuild') || !existsSync(path.join(dir, 'manifest.json'))) await build();
console.log(
  `store ${dir}: ${N} points, ${VARS} variables; readers load ${path.relative('.', MODULE)}; median of ${ROUNDS} fresh reader processes\n`,
);
console.log(`${'query'.padEnd(44)} ${'peak RSS'.padStart(10)} ${'time'.padStart(10)}`);
for (const [label, code] of Object.entries(QUERIES)) {
  const runs = Array.from({ length: ROUNDS }, () => measure(code));
  const mb = median(runs.map((r) => r.mb));
  const ms = median(runs.map((r) => r.ms));
  console.log(
    `${label.padEnd(44)} ${`${mb.toFixed(0)} MB`.padStart(10)} ${`${ms.toFixed(0)} ms`.padStart(10)}`,
  );
}
