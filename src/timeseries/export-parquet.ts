/**
 * `export --format parquet`: the points of each variable appended to a DuckDB table, then sorted
 * and written as one zstd Parquet file. Two phases a listener sees: points appended (counted as
 * they go, `ts-export`), then the sort and write, which on millions of points takes seconds —
 * reported from DuckDB's own estimate, as points of the total (`ts-export`, detail
 * `writing Parquet`).
 */
import { type Connections, quoteLiteral } from '../engine/duckdb.ts';
import { withQueryProgress } from '../engine/query-progress.ts';
import type { ProgressCounter, ProgressFn } from '../util/progress.ts';
import { valueAt } from './aggregate.ts';
import { T_STRING } from './codec.ts';
import type { SeriesReader } from './series-reader.ts';
import { parseTimestamp } from './validate.ts';

export interface ParquetExportProgress {
  /** Points appended; ended (with its total) when the last is in. */
  exported: ProgressCounter;
  onProgress: ProgressFn | undefined;
}

/** Writes the points of `vars` in [q.from, q.to) to `file`; returns how many. */
export async function writeParquet(
  store: Pick<SeriesReader, 'scan'>,
  engine: Connections,
  vars: string[],
  file: string,
  q: { from?: unknown; to?: unknown },
  { exported, onProgress }: ParquetExportProgress,
) {
  let points = 0;
  await engine.withConnection(async (conn) => {
    const table = `ts_export_${process.pid}_${Date.now()}`;
    await conn.run(
      `CREATE TABLE ${table} (variable VARCHAR, micros DOUBLE, value DOUBLE, str VARCHAR, type UTINYINT, meta VARCHAR)`,
    );
    try {
      const app = await conn.createAppender(table);
      for (const v of vars) {
        const from = q.from === undefined ? undefined : parseTimestamp(q.from as never);
        const to = q.to === undefined ? undefined : parseTimestamp(q.to as never);
        const c = await store.scan(v, from, to);
        for (let i = 0; i < c.length; i++) {
          const val = valueAt(c, i);
          app.appendVarchar(v);
          app.appendDouble(c.micros[i] as number);
          if (typeof val === 'number') app.appendDouble(val);
          else if (typeof val === 'boolean') app.appendDouble(val ? 1 : 0);
          else app.appendNull();
          const s = c.type[i] === T_STRING ? c.strs[i] : undefined;
          if (s === undefined) app.appendNull();
          else app.appendVarchar(s);
          app.appendUTinyInt(c.type[i] as number);
          const m = c.metas[i];
          if (m === undefined) app.appendNull();
          else app.appendVarchar(m);
          app.endRow();
          exported.add();
        }
        points += c.length;
      }
      app.closeSync();
      // Every point is in: the append phase is done, and the sort and write is the next one.
      exported.end();
      const total = points;
      const onFraction =
        onProgress &&
        ((fraction: number) =>
          onProgress({
            operation: 'ts-export',
            detail: 'writing Parquet',
            done: Math.round(fraction * total),
            total,
            unit: 'points',
          }));
      await withQueryProgress(conn, onFraction, () =>
        conn.run(
          `COPY (SELECT variable, make_timestamp(micros::BIGINT) AS ts, type, value, str, meta FROM ${table}
               ORDER BY variable, micros) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd)`,
        ),
      );
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${table}`);
    }
  });
  return points;
}
