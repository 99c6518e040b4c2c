/**
 * sluice TimeSeriesStore against SQLite (node:sqlite), DuckDB's appender and the seed's way of
 * writing (open, append a JSON line, close, per point), on the same data in one run (issue #21).
 *
 *   node bench/timeseries.ts            2,000,000 points
 *   node bench/timeseries.ts --quick    200,000 points
 *   node bench/timeseries.ts --20m      20,000,000 points (hours: SQLite, DuckDB and sluice's 10,000-variable compaction)
 *   BENCH_POINTS=n, BENCH_ROUNDS=n (default 3) … --no-writers skips the closing many-writers line
 *   --dataset real100|real10k|reused100   that data set only (and the queries on it)
 *
 * Memory: each append process reports its peak RSS beyond its RSS after start-up; the input alone
 * (batches made, parsed and dropped: JSON.parse's garbage grows V8's heap by itself) is measured
 * the same way in every round, and "beyond the input" is a system's figure less that one.
 *
 * Data: points as sluice receives them, parsed from NDJSON (a fresh metadata object per point, ISO
 * timestamps), over 100 and over 10,000 variables; the pre-#21 shape (one metadata object reused
 * per variable, epoch-ms timestamps) as a second line. Every append runs in a process of its own
 * (timeseries-child.ts) that also reports its peak memory; every cold query too. Systems alternate
 * within each round, and every figure is the median over the rounds, never the best.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TimeSeriesStore } from '../src/timeseries/index.ts';
import { inRoundOrder, medianRatio } from './peers.ts';
import { DATASETS, median, spanMs, T0 } from './timeseries-data.ts';
import { QUERIES, type QuerySystem } from './timeseries-queries.ts';
import { benchQueries } from './timeseries-query-bench.ts';
import { fmtMs, fmtRate, type Goal, inChild, printSummary, row } from './timeseries-report.ts';
import { type AppendResult, SYSTEMS } from './timeseries-systems.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const N = Number(
  process.env.BENCH_POINTS ?? (quick ? 200_000 : args.includes('--20m') ? 20_000_000 : 2_000_000),
);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(N) || N < 10_000) throw new Error(`BENCH_POINTS must be an integer ≥ 10000, not ${N}`);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1)
  throw new Error(`BENCH_ROUNDS must be an integer ≥ 1, not ${ROUNDS}`);
const root = mkdtempSync(path.join(tmpdir(), 'sluice-bench-ts-'));
const downsampleMs = Math.ceil(spanMs(N, 100) / 1000);

/**
 * Which systems run on which data set (`input`: the producer alone, for memory); the first two
 * data sets also feed the query section.
 */
const ALL = [
  'input',
  'sluice',
  'sluiceSustained',
  'sqliteNormal',
  'sqliteFull',
  'duckEnd',
  'duckCheckpoint',
  'seed',
];
const PLAN_ALL: [string, string[]][] = [
  ['real100', ALL],
  // No sustained run at 10,000 variables: with a segment file per variable, its compactions take
  // minutes each; its sustained figure is the one-compaction run's.
  ['real10k', ALL.filter((s) => s !== 'sluiceSustained')],
  ['reused100', ['input', 'sluice', 'sqliteNormal', 'duckEnd']],
];
const onlyAt = args.indexOf('--dataset');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
if (only !== undefined && !PLAN_ALL.some(([ds]) => ds === only))
  throw new Error(`--dataset must be one of ${PLAN_ALL.map(([ds]) => ds).join(', ')}, not ${only}`);
const PLAN = PLAN_ALL.filter(([ds]) => only === undefined || ds === only);
const planned = (ds: string) => PLAN.some(([d]) => d === ds);
/** Stores of the last round kept for the queries: sluice's, SQLite's and DuckDB's. */
const KEEP: Record<QuerySystem, string> = { sluice: 'sluice', sqlite: 'sqliteNormal', duckdb: 'duckEnd' };

const target = (ds: string, sys: string, round: number) =>
  path.join(root, `${ds}-${sys}-r${round}${sys.startsWith('sluice') || sys === 'seed' ? '' : '.db'}`);
const removeTarget = (t: string) => {
  for (const ext of ['', '-wal', '-shm', '.wal']) rmSync(`${t}${ext}`, { recursive: true, force: true });
};

console.log(
  `points=${N.toLocaleString('en')} per data set, batches of 10,000; figures are medians of ${ROUNDS} alternating rounds (never the best); each append and each cold query in a fresh process (dir ${root})`,
);
if (ROUNDS < 3) console.log(`note: BENCH_ROUNDS=${ROUNDS}; issue #21 asks for medians of at least 3`);

// ---- appends: every system, every data set, ROUNDS times alternating ----
type Run = AppendResult & { extraMiB: number; reset: boolean; n: number };
const runs = new Map<string, Run[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [ds, systems] of PLAN) {
    // Each round in another order, so no system always runs first (or right after another).
    for (const sys of inRoundOrder(systems, r)) {
      const n = Math.min(N, SYSTEMS[sys]?.maxPoints ?? N);
      const t = target(ds, sys, r);
      const res = inChild(['append', sys, ds, String(n), t]) as unknown as Run;
      res.n = n;
      runs.set(`${ds}/${sys}`, [...(runs.get(`${ds}/${sys}`) ?? []), res]);
      process.stderr.write(`round ${r + 1}/${ROUNDS} ${ds} ${sys}: ${fmtRate((n / res.appendMs) * 1000)}\n`);
      if (r < ROUNDS - 1 || !Object.values(KEEP).includes(sys)) removeTarget(t);
    }
  }
}
const med = (key: string, f: (r: Run) => number) => median((runs.get(key) ?? []).map(f));
const rateOf = (key: string) => med(key, (r) => (r.n / r.appendMs) * 1000);
const ratesOf = (key: string) => (runs.get(key) ?? []).map((r) => (r.n / r.appendMs) * 1000);
/** sluice's rate ÷ a peer's on data set `ds`: the median over rounds of the ratio within each round. */
const ratioTo = (ds: string, peer: string) => medianRatio(ratesOf(`${ds}/sluice`), ratesOf(`${ds}/${peer}`));
/** Peak RSS beyond start-up less the input alone's, in the same round (median over rounds). */
const beyondInput = (ds: string, sys: string) => {
  const own = (runs.get(`${ds}/${sys}`) ?? []).map((r) => r.extraMiB);
  const input = (runs.get(`${ds}/input`) ?? []).map((r) => r.extraMiB);
  return median(own.map((x, i) => x - (input[i] ?? 0)));
};

console.log(
  '\n== durable append (points/s inside the append calls; making and parsing batches not counted; sluice compacts afterwards, see below) ==',
);
const W = [56, 11, 9, 14];
const goals: Goal[] = [];
for (const [ds, systems] of PLAN) {
  console.log(`\n${DATASETS[ds]?.label}:`);
  row(['system', 'rate', 'sluice ÷', 'MiB (raw)'], W);
  for (const sys of systems) {
    if (sys === 'sluiceSustained') continue;
    const n = runs.get(`${ds}/${sys}`)?.[0]?.n ?? N;
    const label = `${SYSTEMS[sys]?.label}${n < N ? ` (${n.toLocaleString('en')} pts)` : ''}`;
    const raw = med(`${ds}/${sys}`, (r) => r.extraMiB).toFixed(0);
    if (sys === 'input') {
      row([label, '', '', `(${raw})`], W);
      continue;
    }
    const ratio = sys === 'sluice' ? '' : `${ratioTo(ds, sys).toFixed(2)}×`;
    // The input alone was measured on N points: a run on fewer has no figure to subtract.
    const memory = n < N ? '-' : beyondInput(ds, sys).toFixed(0);
    row([label, fmtRate(rateOf(`${ds}/${sys}`)), ratio, `${memory} (${raw})`], W);
  }
  const g = (peer: string, min: number, what: string) =>
    goals.push({
      goal: `durable append ≥ ${min}× ${what}`,
      where: DATASETS[ds]?.label ?? ds,
      value: ratioTo(ds, peer),
      min,
      unit: '×',
    });
  g('sqliteNormal', 3, 'SQLite (WAL, NORMAL)');
  if (ds !== 'reused100') {
    g('duckEnd', 1.5, 'DuckDB appender (WAL fsync per flush)');
    g('duckCheckpoint', 1.5, 'DuckDB appender (CHECKPOINT per batch)');
    g('seed', 10, 'the seed way');
  }
}
console.log(
  '\ndurability once a batch call returns (fsync calls counted with strace on 50,000 points when this bench was written):',
);
for (const sys of ['sluice', 'sqliteNormal', 'sqliteFull', 'duckEnd', 'duckCheckpoint', 'seed'])
  console.log(`  ${(SYSTEMS[sys]?.label ?? sys).padEnd(56)} ${SYSTEMS[sys]?.durability}`);
if ([...runs.values()].flat().some((r) => !r.reset))
  console.log('note: /proc/self/clear_refs refused; "extra MiB" then counts from process start');
console.log(
  '"MiB": peak RSS (VmHWM) of the append process beyond its RSS once modules were loaded and one batch made (DuckDB\'s library loaded in every process), less the same for the input alone in that round; (raw): before subtracting. sluice rows include their compaction; "compact() once at the end" holds every point in memory until then (compaction off), so its figure grows with N.',
);
console.log(
  "ratios: the median over rounds of sluice's rate ÷ the peer's in the same round (rates above: medians over rounds).",
);

console.log(
  '\n== compaction and sustained rate (sluice; sustained = points ÷ (time inside the append calls, waits for memory included, + the last compact())) ==',
);
for (const ds of ['real100', 'real10k'].filter(planned)) {
  const label = DATASETS[ds]?.label ?? ds;
  const one = `${ds}/sluice`;
  // The run with the store's own background compaction where there is one, else the one-compaction run.
  const sus = runs.has(`${ds}/sluiceSustained`) ? `${ds}/sluiceSustained` : one;
  const appendMs = med(one, (r) => r.appendMs);
  const compactMs = med(one, (r) => r.compactMs ?? 0);
  // Like every ratio here, the median of the per-round ratios; their spread beside it (a figure
  // within the rounds' spread of its goal is not met by one bench run).
  const perRound = (runs.get(one) ?? []).map((r) => (r.compactMs ?? 0) / r.appendMs);
  const compactRatio = median(perRound);
  const spread = `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}`;
  const sustained = med(sus, (r) => (r.n / (r.appendMs + (r.compactMs ?? 0))) * 1000);
  const wa = med(sus, (r) => (r.writtenBytes ?? 0) / (r.segmentBytes ?? 1));
  const compactions = med(sus, (r) => r.compactions ?? 0);
  const memory = beyondInput(ds, sus.split('/')[1] as string);
  console.log(`\n${label}:`);
  console.log(
    `  append ${fmtMs(appendMs)}, one compact() of all ${N.toLocaleString('en')} points ${fmtMs(compactMs)}: compact ÷ append = ${compactRatio.toFixed(2)}, rounds ${spread} (goal < 1)`,
  );
  console.log(
    `  sustained, ${sus === one ? 'one compact() at the end' : "the store's own background compaction (defaults: by 1M points or 16 MiB buffered) and a last compact()"} (${compactions} compactions): ${fmtRate(sustained)} (goal ≥ 1 M/s)`,
  );
  console.log(
    `  write amplification of that run: ${wa.toFixed(2)} (bytes of every segment file written, replaced ones included, ÷ final segment bytes)`,
  );
  console.log(
    `  peak memory of that run beyond the input (append + compaction): ${memory.toFixed(0)} MiB${sus === one ? ' (every point buffered until the end)' : ''}`,
  );
  const add = (goal: string, value: number, unit: string, bound: { min?: number; max?: number }) =>
    goals.push({ goal, where: label, value, unit, ...bound });
  add('compact() of N takes less time than appending N', compactRatio, '× append', { max: 1 });
  add('sustained rate (append + every compaction) ≥ 1 M pts/s', sustained / 1e6, ' M/s', { min: 1 });
  add('write amplification of compaction (reported)', wa, '', {});
  if (sus !== one)
    add('memory beyond the input ≤ 64 MiB (append + compaction, store defaults)', memory, ' MiB', {
      max: 64,
    });
}

console.log(
  '\n== bytes per point on disk (sluice after compaction; SQLite without index, WAL checkpointed) ==',
);
for (const ds of ['real100', 'real10k', 'reused100'].filter(planned)) {
  const b = (sys: string) => med(`${ds}/${sys}`, (r) => r.bytes / r.n);
  const [s, q, d] = [b('sluice'), b('sqliteNormal'), b('duckEnd')];
  console.log(
    `  ${(DATASETS[ds]?.label ?? ds).padEnd(56)} sluice ${s.toFixed(2)}, SQLite ${q.toFixed(1)}, DuckDB ${d.toFixed(1)}: SQLite ÷ sluice = ${(q / s).toFixed(1)}`,
  );
  if (ds !== 'reused100')
    goals.push({
      goal: 'bytes per point ≤ 1/10 of SQLite',
      where: DATASETS[ds]?.label ?? ds,
      value: q / s,
      min: 10,
      unit: ' (SQLite ÷ sluice)',
    });
}

// ---- many small writers: 100 producers, each awaiting one point at a time ----
const PRODUCERS = 100;
const per = Math.ceil((quick ? 20_000 : 200_000) / PRODUCERS);
const smallRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const small = await TimeSeriesStore.open(path.join(root, `small-${r}`), {
    compactIntervalMs: 0,
    compactPoints: 0,
  });
  const t = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      for (let i = 0; i < per; i++)
        await small.storeDataPoint(`w${p}`, new Date(T0 + i * 1000).toISOString(), i / 4, {
          unit: 'C',
          source: `sensor-${p}`,
          quality: 'good',
        });
    }),
  );
  smallRates.push(((per * PRODUCERS) / (performance.now() - t)) * 1000);
  await small.close();
  rmSync(path.join(root, `small-${r}`), { recursive: true, force: true });
}
console.log(
  `\n${PRODUCERS} concurrent single-point writers (fsync, fresh metadata per point): ${fmtRate(median(smallRates))} (goal ≥ 100 k/s)`,
);

// ---- queries over the last round's stores ----
await benchQueries({
  rounds: ROUNDS,
  downsampleMs,
  goals,
  storeOf: (q, sys) => target(q.dataset, KEEP[sys], ROUNDS - 1),
  queries: QUERIES.filter((q) => planned(q.dataset)),
});
rmSync(root, { recursive: true, force: true });

// Many writers, one store: total points/s with 1, 2 and 4 writer processes (bench/timeseries-writers.ts).
if (!args.includes('--no-writers')) {
  console.log('\nmany writers, one store (bench/timeseries-writers.ts):');
  const w = spawnSync(
    process.execPath,
    [path.join(import.meta.dirname, 'timeseries-writers.ts'), ...(quick ? ['--quick'] : [])],
    {
      stdio: 'inherit',
    },
  );
  if (w.status !== 0) process.exitCode = 1;
}

printSummary(goals, { points: N, rounds: ROUNDS });
