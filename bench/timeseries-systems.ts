/**
 * The systems bench/timeseries.ts compares, each appending n points of a data set in batches of
 * 10,000 the way a user of it would: peers serialise each point's metadata with JSON.stringify and
 * turn its timestamp into epoch µs themselves. Each returns the time spent in its own calls.
 */
import { appendFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Engine } from '../src/engine/duckdb.ts';
import { openStorage } from '../src/storage/open.ts';
import type { Storage } from '../src/storage/types.ts';
import { TimeSeriesStore } from '../src/timeseries/index.ts';
import type { TimeSeriesStoreOptions } from '../src/timeseries/types.ts';
import { type Dataset, forEachBatch, micros } from './timeseries-data.ts';

export interface AppendResult {
  /** Time inside the system's append calls (batch making excluded; sluice's waits for memory included). */
  appendMs: number;
  /** sluice: time inside the last compact() call. */
  compactMs?: number;
  /** sluice: manifests published (one per compaction that wrote anything). */
  compactions?: number;
  /** sluice: bytes of every segment file compactions wrote, replaced ones included. */
  writtenBytes?: number;
  /** sluice: bytes of the segment files at the end. */
  segmentBytes?: number;
  /** Bytes on disk after close (a SQLite database without index; its WAL checkpointed by close). */
  bytes: number;
}

export interface System {
  label: string;
  /** What survives a power loss once a batch call returns. */
  durability: string;
  /** Runs on at most this many points (the seed's way is too slow for all of them). */
  maxPoints?: number;
  append(target: string, ds: Dataset, n: number): Promise<AppendResult>;
}

export function du(p: string): number {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((s, n) => s + du(path.join(p, n)), 0);
}

/** Segment files of a local store: every file outside `wal/` but the manifest, with its size. */
export function segmentFiles(dir: string, rel = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) {
      if (r !== 'wal') for (const [k, v] of segmentFiles(dir, r)) out.set(k, v);
    } else if (!e.name.startsWith('manifest') && !e.name.endsWith('.sluice-tmp')) {
      out.set(r, statSync(path.join(dir, r)).size);
    }
  }
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * A store's own storage with its puts counted: bytes of segment files (write amplification
 * needs every one, also those a later merge replaces) and manifests published.
 */
function countedStorage(dir: string): {
  storage: Storage;
  counts: { segmentBytes: number; manifests: number };
} {
  const inner = openStorage(dir);
  const counts = { segmentBytes: 0, manifests: 0 };
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Storage['put']>) => {
        const res = await target.put(...args);
        if (args[0].startsWith('segments/')) counts.segmentBytes += res.size;
        else if (args[0] === 'manifest.json') counts.manifests++;
        return res;
      };
    },
  });
  return { storage, counts };
}

/**
 * sluice, durability 'fsync' (the default). `background`: the store's own compaction (started by
 * points and bytes buffered, appends waiting while memory is full) and a last compact(); else no
 * compaction until one compact() of everything at the end.
 */
async function appendSluice(dir: string, ds: Dataset, n: number, background: boolean): Promise<AppendResult> {
  const { storage, counts } = countedStorage(dir);
  // BENCH_TS_OPTIONS='{"compactBytes":8388608}': store options to try against the defaults.
  const tried = JSON.parse(process.env.BENCH_TS_OPTIONS || '{}') as TimeSeriesStoreOptions;
  const store = await TimeSeriesStore.open(
    dir,
    background
      ? { storageInstance: storage, ...tried }
      : { storageInstance: storage, compactIntervalMs: 0, compactPoints: 0, compactBytes: 0, ...tried },
  );
  const appendMs = await forEachBatch(ds, n, (batch) => store.storeDataPoints(batch));
  const t = performance.now();
  await store.compact();
  const compactMs = performance.now() - t;
  await store.close();
  await storage.close();
  return {
    appendMs,
    compactMs,
    compactions: counts.manifests,
    writtenBytes: counts.segmentBytes,
    segmentBytes: sum(segmentFiles(dir)),
    bytes: du(dir),
  };
}

async function appendSqlite(
  file: string,
  ds: Dataset,
  n: number,
  sync: 'NORMAL' | 'FULL',
): Promise<AppendResult> {
  const db = new DatabaseSync(file);
  db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=${sync};`);
  db.exec('CREATE TABLE points (variable TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, metadata TEXT)');
  const insert = db.prepare('INSERT INTO points VALUES (?, ?, ?, ?)');
  const appendMs = await forEachBatch(ds, n, (batch) => {
    db.exec('BEGIN');
    for (const p of batch)
      insert.run(p.variable, micros(p.timestamp), p.value as number, JSON.stringify(p.metadata));
    db.exec('COMMIT');
  });
  db.close();
  return { appendMs, bytes: du(file) + du(`${file}-wal`) };
}

async function appendDuck(
  file: string,
  ds: Dataset,
  n: number,
  checkpointEachBatch: boolean,
): Promise<AppendResult> {
  const engine = await Engine.create({ path: file });
  let appendMs = 0;
  await engine.withConnection(async (conn) => {
    await conn.run('CREATE TABLE points (variable VARCHAR, ts BIGINT, value DOUBLE, metadata VARCHAR)');
    const app = await conn.createAppender('points');
    appendMs = await forEachBatch(ds, n, async (batch) => {
      for (const p of batch) {
        app.appendVarchar(p.variable);
        app.appendBigInt(BigInt(micros(p.timestamp)));
        app.appendDouble(p.value as number);
        app.appendVarchar(JSON.stringify(p.metadata));
        app.endRow();
      }
      app.flushSync();
      if (checkpointEachBatch) await conn.run('CHECKPOINT');
    });
    const t = performance.now();
    app.closeSync();
    await conn.run('CHECKPOINT');
    appendMs += performance.now() - t;
  });
  await engine.close();
  return { appendMs, bytes: du(file) + du(`${file}.wal`) };
}

/** The seed's way: open, append one JSON line, close — per point, one file per variable. */
async function appendSeed(dir: string, ds: Dataset, n: number): Promise<AppendResult> {
  mkdirSync(dir, { recursive: true });
  const appendMs = await forEachBatch(ds, n, (batch) => {
    for (const p of batch) {
      const ts =
        typeof p.timestamp === 'string' ? p.timestamp : new Date(p.timestamp as number).toISOString();
      const rec = { timestamp: ts, value: p.value, metadata: p.metadata };
      appendFileSync(path.join(dir, `${p.variable}.jsonl`), `${JSON.stringify(rec)}\n`);
    }
  });
  return { appendMs, bytes: du(dir) };
}

export const SYSTEMS: Record<string, System> = {
  sluice: {
    label: 'sluice (fsync per batch), compact() once at the end',
    durability: 'fsync of its log per batch before the call returns',
    append: (t, ds, n) => appendSluice(t, ds, n, false),
  },
  sluiceSustained: {
    label: 'sluice (fsync per batch), its own background compaction',
    durability: 'as sluice',
    append: (t, ds, n) => appendSluice(t, ds, n, true),
  },
  input: {
    label: 'the input alone (batches made and parsed, then dropped)',
    durability: '-',
    append: async (_t, ds, n) => ({ appendMs: await forEachBatch(ds, n, () => {}), bytes: 0 }),
  },
  sqliteNormal: {
    label: 'SQLite WAL, synchronous=NORMAL, 10k tx',
    durability: 'no fsync at commit (only at WAL checkpoints): survives a process crash, not a power loss',
    append: (t, ds, n) => appendSqlite(t, ds, n, 'NORMAL'),
  },
  sqliteFull: {
    label: 'SQLite WAL, synchronous=FULL, 10k tx',
    durability: 'fsync of the WAL at every commit',
    append: (t, ds, n) => appendSqlite(t, ds, n, 'FULL'),
  },
  duckCheckpoint: {
    label: 'DuckDB appender, CHECKPOINT per batch',
    durability: 'WAL fsync per flush, and each batch checkpointed into the database file (fsync)',
    append: (t, ds, n) => appendDuck(t, ds, n, true),
  },
  duckEnd: {
    label: 'DuckDB appender, one CHECKPOINT at the end',
    durability: "flush per batch commits and fsyncs DuckDB's WAL: durable per batch",
    append: (t, ds, n) => appendDuck(t, ds, n, false),
  },
  seed: {
    label: 'seed way (open/append/close per point)',
    durability: 'no fsync at all',
    maxPoints: 200_000,
    append: appendSeed,
  },
};
