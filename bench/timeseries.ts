/**
 * sluice TimeSeriesStore against SQLite (node:sqlite), DuckDB's appender and the seed's way of
 * writing (open, append a JSON line, close, per point), on the same data in one run (issue #21).
 *
 *   node bench/timeseries.ts            2,000,000 points
 *   node bench/timeseries.ts --quick    200,000 points
 *   node bench/timeseries.ts --20m      20,000,000 points (hours here at sluice's 2026-12 rates: a 2M run takes ~40 min)
 *   BENCH_POINTS=n, BENCH_ROUNDS=n (default 3) … --no-writers skips the closing many-writers line
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
import { DATASETS, median, spanMs, T0 } from './timeseries-data.ts';
import type { QuerySystem } from './timeseries-queries.ts';
import { benchQueries } from './timeseries-query-bench.ts';
import { fmtMs, fmtRate, type Goal, inChild, printSummary, row } from './timeseries-report.ts';
import { type AppendResult, COMPACT_EVERY, SYSTEMS } from './timeseries-systems.ts';

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

/** Which systems run on which data set; the first two data sets also feed the query section. */
const ALL = ['sluice', 'sluiceSustained', 'sqliteNormal', 'sqliteFull', 'duckEnd', 'duckCheckpoint', 'seed'];
const PLAN: [string, string[]][] = [
  // At most COMPACT_EVERY points, the sustained run would repeat the one-compaction run.
  ['real100', ALL.filter((s) => s !== 'sluiceSustained' || N > COMPACT_EVERY)],
  // No separate sustained run at 10,000 variables: compaction there costs minutes per run (a
  // segment file per variable), so its sustained figure is the one-compaction run's.
  ['real10k', ALL.filter((s) => s !== 'sluiceSustained')],
  ['reused100', ['sluice', 'sqliteNormal', 'duckEnd']],
];
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
    for (const sys of systems) {
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

console.log(
  '\n== durable append (points/s inside the append calls; making and parsing batches not counted; sluice compacts afterwards, see below) ==',
);
const W = [56, 11, 9, 10];
const goals: Goal[] = [];
for (const [ds, systems] of PLAN) {
  console.log(`\n${DATASETS[ds]?.label}:`);
  row(['system', 'rate', 'sluice ÷', 'extra MiB'], W);
  const sluice = rateOf(`${ds}/sluice`);
  for (const sys of systems) {
    if (sys === 'sluiceSustained') continue;
    const rate = rateOf(`${ds}/${sys}`);
    const n = runs.get(`${ds}/${sys}`)?.[0]?.n ?? N;
    const label = `${SYSTEMS[sys]?.label}${n < N ? ` (${n.toLocaleString('en')} pts)` : ''}`;
    const extra = med(`${ds}/${sys}`, (r) => r.extraMiB);
    row(
      [label, fmtRate(rate), sys === 'sluice' ? '' : `${(sluice / rate).toFixed(2)}×`, extra.toFixed(0)],
      W,
    );
  }
  const g = (peer: string, min: number, what: string) =>
    goals.push({
      goal: `durable append ≥ ${min}× ${what}`,
      where: DATASETS[ds]?.label ?? ds,
      value: sluice / rateOf(`${ds}/${peer}`),
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
  '"extra MiB": peak RSS (VmHWM) of the append process beyond its RSS once modules were loaded and one batch made (DuckDB\'s library loaded in every process); sluice rows include its compaction.',
);

console.log(`\n== compaction and sustained rate (sluice; compactions in the foreground, timed) ==`);
for (const ds of ['real100', 'real10k']) {
  const label = DATASETS[ds]?.label ?? ds;
  const one = `${ds}/sluice`;
  // The run compacting every COMPACT_EVERY points where there is one, else the one-compaction run.
  const sus = runs.has(`${ds}/sluiceSustained`) ? `${ds}/sluiceSustained` : one;
  const appendMs = med(one, (r) => r.appendMs);
  const compactMs = med(one, (r) => r.compactMs ?? 0);
  const sustained = med(sus, (r) => (r.n / (r.appendMs + (r.compactMs ?? 0))) * 1000);
  const wa = med(sus, (r) => (r.writtenBytes ?? 0) / (r.segmentBytes ?? 1));
  const compactions = runs.get(sus)?.[0]?.compactions ?? 0;
  const extra = Math.max(...[one, sus].map((k) => med(k, (r) => r.extraMiB)));
  console.log(`\n${label}:`);
  console.log(
    `  append ${fmtMs(appendMs)}, one compact() of all ${N.toLocaleString('en')} points ${fmtMs(compactMs)}: compact ÷ append = ${(compactMs / appendMs).toFixed(2)} (goal < 1)`,
  );
  console.log(
    `  sustained = points ÷ (append time + every compaction's time), ${sus === one ? 'one compact() at the end' : `compact() every ${COMPACT_EVERY.toLocaleString('en')} points and at the end`} (${compactions} compactions): ${fmtRate(sustained)} (goal ≥ 1 M/s)`,
  );
  console.log(
    `  write amplification of that run: ${wa.toFixed(2)} (bytes of the segment files each compaction added ÷ final segment bytes)`,
  );
  console.log(
    `  peak memory beyond start, append + compaction (larger of the runs): ${extra.toFixed(0)} MiB`,
  );
  const add = (goal: string, value: number, unit: string, bound: { min?: number; max?: number }) =>
    goals.push({ goal, where: label, value, unit, ...bound });
  add('compact() of N takes less time than appending N', compactMs / appendMs, '× append', { max: 1 });
  add('sustained rate (append + every compaction) ≥ 1 M pts/s', sustained / 1e6, ' M/s', { min: 1 });
  add('write amplification of compaction (reported)', wa, '', {});
  add('memory beyond the input ≤ 64 MiB (append + compaction)', extra, ' MiB', { max: 64 });
}

console.log(
  '\n== bytes per point on disk (sluice after compaction; SQLite without index, WAL checkpointed) ==',
);
for (const ds of ['real100', 'real10k', 'reused100']) {
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
