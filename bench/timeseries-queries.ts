/**
 * The read queries of bench/timeseries.ts, the same question put to each system: sluice through
 * its API, SQLite (with a (variable, ts) index) and DuckDB (its own table) through SQL. Each
 * `open` returns a runner that answers one query and the number of rows it returned.
 */
import { DatabaseSync } from 'node:sqlite';
import { Engine } from '../src/engine/duckdb.ts';
import { TimeSeriesStore } from '../src/timeseries/index.ts';

export interface QuerySpec {
  id: 'avg1m' | 'latestAll' | 'downsample';
  label: string;
  /** Which data set's stores it runs on. */
  dataset: 'real100' | 'real10k';
}

export const QUERIES: QuerySpec[] = [
  { id: 'avg1m', label: '1-minute avg of one variable, all time', dataset: 'real100' },
  { id: 'latestAll', label: 'latest of every variable (10,000)', dataset: 'real10k' },
  { id: 'downsample', label: 'downsample one variable to 1,000 buckets', dataset: 'real100' },
];

export const QUERY_SYSTEMS = ['sluice', 'sqlite', 'duckdb'] as const;
export type QuerySystem = (typeof QUERY_SYSTEMS)[number];

/** The variable the one-variable queries read. */
export const VARIABLE = 'var_42';

export interface Opened {
  run(q: QuerySpec['id'], downsampleMs: number): Promise<number>;
  close(): Promise<void>;
}

function sql(q: QuerySpec['id'], bucketMs: number, duck: boolean): string {
  if (q === 'latestAll')
    return duck
      ? 'SELECT variable, max(ts) AS ts, arg_max(value, ts) AS value, arg_max(metadata, ts) AS metadata FROM points GROUP BY variable'
      : // SQLite's bare columns come from the row holding max(ts).
        'SELECT variable, max(ts) AS ts, value, metadata FROM points GROUP BY variable';
  const us = bucketMs * 1000;
  // Integer division: DuckDB's `/` on integers gives a double, SQLite's truncates.
  const div = duck ? '//' : '/';
  return `SELECT (ts ${div} ${us}) * ${us} AS bucket, avg(value) AS value, count(*) AS n FROM points WHERE variable = '${VARIABLE}' GROUP BY bucket ORDER BY bucket`;
}

const bucketOf = (q: QuerySpec['id'], downsampleMs: number) => (q === 'avg1m' ? 60_000 : downsampleMs);

export async function openSystem(system: QuerySystem, target: string, readOnly: boolean): Promise<Opened> {
  if (system === 'sluice') {
    const store = await TimeSeriesStore.open(target, { readOnly, compactIntervalMs: 0, compactPoints: 0 });
    return {
      async run(q, downsampleMs) {
        if (q === 'latestAll') {
          // One call for all: one refresh of a read-only store (one call each: one refresh each).
          return (await store.latest(await store.variables())).filter((p) => p !== undefined).length;
        }
        return (await store.aggregate(VARIABLE, { every: bucketOf(q, downsampleMs), fn: 'avg' })).length;
      },
      close: () => store.close(),
    };
  }
  if (system === 'sqlite') {
    const db = new DatabaseSync(target, { readOnly });
    return {
      run: async (q, downsampleMs) => db.prepare(sql(q, bucketOf(q, downsampleMs), false)).all().length,
      close: async () => db.close(),
    };
  }
  const engine = await Engine.create({ path: target });
  return {
    run: async (q, downsampleMs) => (await engine.query(sql(q, bucketOf(q, downsampleMs), true))).length,
    close: () => engine.close(),
  };
}
