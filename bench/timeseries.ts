/**
 * sluice TimeSeriesStore vs SQLite (node:sqlite), a DuckDB appender and the seed's way of writing
 * (open, append a JSON line, close, per point), on the same data in one run.
 *
 *   node bench/timeseries.ts            2,000,000 points over 100 variables
 *   node bench/timeseries.ts --quick    200,000 points (or BENCH_POINTS=n)
 *   … --no-writers                      without the closing multi-writer line (bench/timeseries-writers.ts)
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Engine } from '../src/engine/duckdb.ts';
import { type DataPointInput, TimeSeriesStore } from '../src/timeseries/index.ts';

const quick = process.argv.includes('--quick');
const N = Number(process.env.BENCH_POINTS ?? (quick ? 200_000 : 2_000_000));
const VARS = 100;
const BATCH = 10_000;
const SEED_N = Math.min(N, quick ? 20_000 : 200_000);
const PRODUCERS = 100;
const SMALL_N = quick ? 20_000 : 200_000;
const T0 = Date.UTC(2024, 0, 1);

const root = mkdtempSync(path.join(tmpdir(), 'sluice-bench-ts-'));
const metas = Array.from({ length: VARS }, (_, v) => ({ unit: 'C', sensor: `s${v}` }));
const metaJson = metas.map((m) => JSON.stringify(m));
const points: DataPointInput[] = Array.from({ length: N }, (_, j) => ({
  variable: `var_${j % VARS}`,
  timestamp: T0 + Math.floor(j / VARS) * 1000,
  // Sensor-like readings: a slow wave plus noise, to two decimals (what a thermometer reports).
  value: Math.round((20 + 5 * Math.sin(j / 50_000) + ((j * 7919) % 100) / 100) * 100) / 100,
  metadata: metas[j % VARS],
}));
const spanMs = Math.ceil(N / VARS) * 1000;

const rate = (n: number, ms: number) => (n / ms) * 1000;
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`);
const line = (label: string, value: string) => console.log(`${label.padEnd(52)} ${value}`);
const ratio = (a: number, b: number, goal: number) => `${(a / b).toFixed(2)}× (goal ≥ ${goal}×)`;
function du(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((s, n) => s + du(path.join(p, n)), 0);
}
async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

console.log(
  `points=${N} variables=${VARS} batch=${BATCH} seed-way points=${SEED_N} rounds=${process.env.BENCH_ROUNDS ?? 2} (best kept) (dir ${root})\n`,
);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

async function writeSluice(dir: string): Promise<[TimeSeriesStore, number]> {
  const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
  const [, ms] = await timed(async () => {
    for (let i = 0; i < N; i += BATCH) await store.storeDataPoints(points.slice(i, i + BATCH));
  });
  return [store, ms];
}

/** The same producer keeping up to 4 batches in flight: group commit gives them one fsync. */
async function writeSluicePipelined(dir: string): Promise<number> {
  const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
  const [, ms] = await timed(async () => {
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < N; i += BATCH) {
      const p = store.storeDataPoints(points.slice(i, i + BATCH)).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  });
  await store.close();
  return ms;
}

/** SQLite: WAL, synchronous=NORMAL, 10k-row transactions, one prepared insert. */
async function writeSqlite(file: string): Promise<[DatabaseSync, number]> {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;');
  db.exec('CREATE TABLE points (variable TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, metadata TEXT)');
  const insert = db.prepare('INSERT INTO points VALUES (?, ?, ?, ?)');
  const [, ms] = await timed(() => {
    for (let i = 0; i < N; i += BATCH) {
      db.exec('BEGIN');
      for (let j = i; j < Math.min(N, i + BATCH); j++) {
        const p = points[j] as DataPointInput;
        insert.run(
          p.variable,
          (p.timestamp as number) * 1000,
          p.value as number,
          metaJson[j % VARS] as string,
        );
      }
      db.exec('COMMIT');
    }
  });
  return [db, ms];
}

/** DuckDB appender into a database file, checkpointed at the end. */
async function writeDuck(file: string): Promise<number> {
  const engine = await Engine.create({ path: file });
  const [, ms] = await timed(() =>
    engine.withConnection(async (conn) => {
      await conn.run('CREATE TABLE points (variable VARCHAR, ts BIGINT, value DOUBLE, metadata VARCHAR)');
      const app = await conn.createAppender('points');
      for (let j = 0; j < N; j++) {
        const p = points[j] as DataPointInput;
        app.appendVarchar(p.variable);
        app.appendBigInt(BigInt((p.timestamp as number) * 1000));
        app.appendDouble(p.value as number);
        app.appendVarchar(metaJson[j % VARS] as string);
        app.endRow();
        if ((j + 1) % BATCH === 0) app.flushSync();
      }
      app.closeSync();
      await conn.run('CHECKPOINT');
    }),
  );
  await engine.close();
  return ms;
}

/** The seed's way: open, append one JSON line, close — per point. */
async function writeSeed(dir: string): Promise<number> {
  mkdirSync(dir);
  const [, ms] = await timed(() => {
    for (let j = 0; j < SEED_N; j++) {
      const p = points[j] as DataPointInput;
      const rec = {
        timestamp: new Date(p.timestamp as number).toISOString(),
        value: p.value,
        metadata: p.metadata,
      };
      appendFileSync(path.join(dir, `${p.variable}.jsonl`), `${JSON.stringify(rec)}\n`);
    }
  });
  return ms;
}

// Every contender runs ROUNDS times, interleaved, on fresh files; the best round counts (the
// machine is shared, so a slow round says more about the neighbours than about the contender).
let store: TimeSeriesStore | undefined;
let db: DatabaseSync | undefined;
let storeDir = '';
let sqlitePath = '';
const best = { sluice: Infinity, pipe: Infinity, sqlite: Infinity, duck: Infinity, seed: Infinity };
for (let r = 0; r < ROUNDS; r++) {
  await store?.close();
  db?.close();
  storeDir = path.join(root, `sluice-${r}`);
  const [s, sMs] = await writeSluice(storeDir);
  store = s;
  best.sluice = Math.min(best.sluice, sMs);
  best.pipe = Math.min(best.pipe, await writeSluicePipelined(path.join(root, `pipe-${r}`)));
  sqlitePath = path.join(root, `sqlite-${r}.db`);
  const [d, dMs] = await writeSqlite(sqlitePath);
  db = d;
  best.sqlite = Math.min(best.sqlite, dMs);
  best.duck = Math.min(best.duck, await writeDuck(path.join(root, `duck-${r}.db`)));
  best.seed = Math.min(best.seed, await writeSeed(path.join(root, `seed-${r}`)));
  for (const old of [`pipe-${r}`, `duck-${r}.db`, `seed-${r}`])
    rmSync(path.join(root, old), { recursive: true, force: true });
  if (r > 0) {
    rmSync(path.join(root, `sluice-${r - 1}`), { recursive: true, force: true });
    for (const ext of ['', '-wal', '-shm'])
      rmSync(path.join(root, `sqlite-${r - 1}.db${ext}`), { force: true });
  }
}
if (!store || !db) throw new Error('BENCH_ROUNDS must be ≥ 1');
const sluiceRate = rate(N, best.sluice);
const pipeRate = rate(N, best.pipe);
const sqliteRate = rate(N, best.sqlite);
const duckRate = rate(N, best.duck);
const seedRate = rate(SEED_N, best.seed);
line(`sluice storeDataPoints (10k batches, fsync)`, `${fmt(sluiceRate)} points/s`);
line('sluice, same batches, ≤ 4 in flight (fsync)', `${fmt(pipeRate)} points/s`);
line('SQLite node:sqlite (WAL, NORMAL, 10k tx)', `${fmt(sqliteRate)} points/s`);
line('DuckDB appender (file, checkpoint)', `${fmt(duckRate)} points/s`);
line(`seed way (open/append/close per point, ${SEED_N})`, `${fmt(seedRate)} points/s`);

console.log();
line('sluice / SQLite', ratio(sluiceRate, sqliteRate, 3));
line('sluice / DuckDB appender', ratio(sluiceRate, duckRate, 1.5));
line('sluice / seed way', ratio(sluiceRate, seedRate, 10));
line('sluice ≤ 4 in flight / SQLite', ratio(pipeRate, sqliteRate, 3));
line('sluice ≤ 4 in flight / DuckDB appender', ratio(pipeRate, duckRate, 1.5));
line('sluice ≤ 4 in flight / seed way', ratio(pipeRate, seedRate, 10));

// Many small writers: 100 producers, each awaiting one point at a time (best of ROUNDS)
const per = Math.ceil(SMALL_N / PRODUCERS);
let smallMs = Infinity;
for (let r = 0; r < ROUNDS; r++) {
  const small = await TimeSeriesStore.open(path.join(root, `small-${r}`), {
    compactIntervalMs: 0,
    compactPoints: 0,
  });
  const [, ms] = await timed(() =>
    Promise.all(
      Array.from({ length: PRODUCERS }, async (_, p) => {
        for (let i = 0; i < per; i++) await small.storeDataPoint(`w${p}`, T0 + i * 1000, i, metas[p % VARS]);
      }),
    ),
  );
  await small.close();
  smallMs = Math.min(smallMs, ms);
}
const smallRate = rate(per * PRODUCERS, smallMs);
console.log();
line(`${PRODUCERS} concurrent single-point writers (fsync)`, `${fmt(smallRate)} points/s (goal ≥ 100 k/s)`);

// Bytes per point after compact()
const [, compactMs] = await timed(() => store.compact());
const sluiceBytes = du(storeDir);
db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
const sqliteBytes = du(sqlitePath) + (statSync(`${sqlitePath}-wal`, { throwIfNoEntry: false })?.size ?? 0);
console.log();
line('compact() time', `${(compactMs / 1000).toFixed(2)} s`);
line('sluice bytes/point after compact', (sluiceBytes / N).toFixed(2));
line('SQLite bytes/point (no index)', (sqliteBytes / N).toFixed(2));
line('sluice / SQLite bytes', `1/${(sqliteBytes / sluiceBytes).toFixed(1)} (goal ≤ 1/10)`);

// Queries: one variable, whole range; SQLite with a (variable, ts) index
db.exec('CREATE INDEX points_var_ts ON points (variable, ts)');
const v = 'var_42';
const from = T0 * 1000;
const to = (T0 + spanMs) * 1000;
const rangeStmt = db.prepare(
  'SELECT ts, value, metadata FROM points WHERE variable = ? AND ts >= ? AND ts < ? ORDER BY ts',
);
const aggStmt = db.prepare(
  'SELECT (ts / 60000000) * 60000000 AS bucket, avg(value) AS value, count(*) AS n FROM points WHERE variable = ? AND ts >= ? AND ts < ? GROUP BY bucket ORDER BY bucket',
);
async function bench(fn: () => Promise<number> | number, reps = 7): Promise<[number, number]> {
  let n = 0;
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const [r, ms] = await timed(fn);
    n = r;
    times.push(ms);
  }
  return [n, median(times)];
}
const [sqlRows, sqlRangeMs] = await bench(() => rangeStmt.all(v, from, to).length);
const [tsRows, tsRangeMs] = await bench(
  async () => (await store.queryAll(v, { from: T0, to: T0 + spanMs })).length,
);
const [, tsStreamMs] = await bench(async () => {
  let n = 0;
  for await (const _ of store.query(v, { from: T0, to: T0 + spanMs })) n++;
  return n;
});
const [sqlBuckets, sqlAggMs] = await bench(() => aggStmt.all(v, from, to).length);
const [tsBuckets, tsAggMs] = await bench(
  async () => (await store.aggregate(v, { from: T0, to: T0 + spanMs, every: '1m', fn: 'avg' })).length,
);
console.log();
line(`range scan ${v} (${tsRows} vs ${sqlRows} rows): sluice`, `${tsRangeMs.toFixed(2)} ms`);
line('range scan: SQLite with (variable, ts) index', `${sqlRangeMs.toFixed(2)} ms`);
line('range scan speed-up', ratio(sqlRangeMs, tsRangeMs, 3));
line(
  'range scan, sluice streamed (for await per point)',
  `${tsStreamMs.toFixed(2)} ms (${(sqlRangeMs / tsStreamMs).toFixed(2)}×)`,
);
line(`1-minute avg (${tsBuckets} vs ${sqlBuckets} buckets): sluice`, `${tsAggMs.toFixed(2)} ms`);
line('1-minute avg: SQLite with index', `${sqlAggMs.toFixed(2)} ms`);
line('1-minute avg speed-up', ratio(sqlAggMs, tsAggMs, 3));

await store.close();
db.close();
rmSync(root, { recursive: true, force: true });

// Many writers, one store: total points/s with 1, 2 and 4 writer processes (the writers bench,
// in its own processes so this one's memory does not weigh on them). --no-writers skips it.
if (!process.argv.includes('--no-writers')) {
  console.log('\nmany writers, one store (bench/timeseries-writers.ts):');
  const writers = path.join(import.meta.dirname, 'timeseries-writers.ts');
  const r = spawnSync(process.execPath, [writers, ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
