/**
 * The query section of bench/timeseries.ts: each query of timeseries-queries.ts against sluice,
 * SQLite (a (variable, ts) index added after loading, not timed) and DuckDB (its own table), cold —
 * a fresh read-only process per query, systems alternating, median over rounds — and warm (this
 * process, repeats after a first run).
 */
import { DatabaseSync } from 'node:sqlite';
import { median } from './timeseries-data.ts';
import {
  type Opened,
  openSystem,
  QUERIES,
  QUERY_SYSTEMS,
  type QuerySpec,
  type QuerySystem,
} from './timeseries-queries.ts';
import { fmtMs, type Goal, inChild, row } from './timeseries-report.ts';

const QUERY_TIMEOUT_MS = 120_000;

export interface QueryBenchOptions {
  rounds: number;
  downsampleMs: number;
  /** The database or store a system answers a query from. */
  storeOf: (q: QuerySpec, sys: QuerySystem) => string;
  goals: Goal[];
  /** The queries to run (default: all). */
  queries?: readonly QuerySpec[];
}

async function warmMs(opts: QueryBenchOptions, skip: Set<string>): Promise<Map<string, number>> {
  const warm = new Map<string, number>();
  for (const sys of QUERY_SYSTEMS) {
    const opened = new Map<string, Opened>();
    for (const q of opts.queries ?? QUERIES) {
      if (skip.has(`${q.id}/${sys}`)) continue;
      const target = opts.storeOf(q, sys);
      const o = opened.get(target) ?? (await openSystem(sys, target, false));
      opened.set(target, o);
      const t0 = performance.now();
      await o.run(q.id, opts.downsampleMs);
      // Repeats of a query that takes seconds add minutes and say nothing new.
      const repeats = performance.now() - t0 < 2000 ? 5 : 1;
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t = performance.now();
        await o.run(q.id, opts.downsampleMs);
        times.push(performance.now() - t);
      }
      warm.set(`${q.id}/${sys}`, median(times));
    }
    for (const o of opened.values()) await o.close();
  }
  return warm;
}

export async function benchQueries(opts: QueryBenchOptions): Promise<void> {
  const queries = opts.queries ?? QUERIES;
  for (const file of new Set(queries.map((q) => opts.storeOf(q, 'sqlite')))) {
    const db = new DatabaseSync(file);
    db.exec('CREATE INDEX IF NOT EXISTS points_var_ts ON points (variable, ts)');
    db.close();
  }
  // A cold query stopped after QUERY_TIMEOUT_MS counts as that long (printed "> …") and is not
  // run again in later rounds, nor warm.
  const cold = new Map<string, Record<string, number>[]>();
  const timedOut = new Set<string>();
  for (let r = 0; r < opts.rounds; r++)
    for (const q of queries)
      for (const sys of QUERY_SYSTEMS) {
        const key = `${q.id}/${sys}`;
        if (timedOut.has(key)) continue;
        const argv = ['query', sys, q.id, opts.storeOf(q, sys), String(opts.downsampleMs)];
        const res = inChild(argv, QUERY_TIMEOUT_MS);
        if (!res) timedOut.add(key);
        cold.set(key, [
          ...(cold.get(key) ?? []),
          res ?? { queryMs: QUERY_TIMEOUT_MS, openMs: Number.NaN, rows: Number.NaN },
        ]);
      }
  const warm = await warmMs(opts, timedOut);

  console.log(
    '\n== queries (SQLite: (variable, ts) index built after loading; DuckDB: its own table, no index) ==',
  );
  console.log(
    'cold: first query in a fresh read-only process, open not included [open time in brackets]; OS page cache warm. "÷": peer time ÷ sluice time (> 1: sluice faster)',
  );
  const W = [54, 20, 20, 20, 9, 9];
  row(['query', 'sluice', 'SQLite', 'DuckDB', 'SQLite÷', 'DuckDB÷'], W);
  for (const q of queries) {
    const c = (sys: QuerySystem, f: string) =>
      median((cold.get(`${q.id}/${sys}`) ?? []).map((x) => x[f] as number));
    // With a stopped query the ratio is a bound: the real one is further from 1 in that direction.
    const v = (sys: QuerySystem) => c(sys, 'queryMs') / c('sluice', 'queryMs');
    const rows = QUERY_SYSTEMS.map((s) => (timedOut.has(`${q.id}/${s}`) ? '?' : c(s, 'rows'))).join('/');
    const cells = QUERY_SYSTEMS.map((s) =>
      timedOut.has(`${q.id}/${s}`)
        ? `> ${fmtMs(QUERY_TIMEOUT_MS)} (stopped)`
        : `${fmtMs(c(s, 'queryMs'))} [${fmtMs(c(s, 'openMs'))}]`,
    );
    row(
      [`${q.label} (${rows} rows)`, ...cells, `${v('sqlite').toFixed(2)}×`, `${v('duckdb').toFixed(2)}×`],
      W,
    );
    const where = `cold: ${q.label}${timedOut.has(`${q.id}/sluice`) ? ` (sluice stopped at ${QUERY_TIMEOUT_MS / 1000} s: at most this)` : ''}`;
    opts.goals.push({
      goal: 'cold queries not slower than DuckDB (DuckDB time ÷ sluice time)',
      where,
      value: v('duckdb'),
      min: 1,
      unit: '×',
    });
    opts.goals.push({
      goal: 'cold queries vs SQLite with index (SQLite time ÷ sluice time, reported)',
      where,
      value: v('sqlite'),
      unit: '×',
    });
  }
  console.log(
    'warm: this process, median of 5 repeats after a first run (1 repeat where the first took over 2 s) (sluice opened as a writer: its decoded-segment cache serves repeats)',
  );
  for (const q of queries) {
    const w = (sys: QuerySystem) => warm.get(`${q.id}/${sys}`) ?? Number.NaN;
    const v = (sys: QuerySystem) => w(sys) / w('sluice');
    row(
      [
        `${q.label} (warm)`,
        ...QUERY_SYSTEMS.map((s) => (Number.isNaN(w(s)) ? 'skipped' : fmtMs(w(s)))),
        `${Number.isNaN(v('sqlite')) ? '-' : v('sqlite').toFixed(2)}×`,
        `${Number.isNaN(v('duckdb')) ? '-' : v('duckdb').toFixed(2)}×`,
      ],
      W,
    );
  }
}
