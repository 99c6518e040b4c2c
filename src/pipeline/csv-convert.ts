/**
 * One CSV → Parquet conversion inside DuckDB: `COPY (SELECT * FROM read_csv(…)) TO out.parquet`
 * with the schema's column types, or store_rejects into a reject file when asked; a refusal is
 * E003 naming the file and its bad rows (a full disk is E012, never the file's fault).
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, quoteLiteral, wrapDuckDBError } from '../engine/duckdb.ts';
import { SchemaValidationError } from '../errors.ts';
import { collectRejects, rejectCopySql, rejectsError } from './csv-check.ts';
import type { ColumnRecord } from './load-records.ts';
import { type ColumnSchema, duckdbColumnsLiteral } from './schema.ts';

export async function convertCsv(
  conn: DuckDBConnection,
  file: string,
  out: string,
  schema: ColumnSchema | undefined,
  rejectFile: string | undefined,
  display: string,
  dialect: string,
): Promise<{ rows: number; rejected: number; columns: ColumnRecord[] }> {
  const readCsv = (extra: string) =>
    schema
      ? `read_csv(${quoteLiteral(file)}, ${dialect}, auto_detect=false, columns=${duckdbColumnsLiteral(schema)}${extra ? `, ${extra}` : ''})`
      : `read_csv(${quoteLiteral(file)}, ${dialect}${extra ? `, ${extra}` : ''})`;
  const copy = (extra: string) =>
    `COPY (SELECT * FROM ${readCsv(extra)}) TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION zstd)`;
  let rows: number;
  let rejected = 0;
  if (rejectFile) {
    await conn.run('DROP TABLE IF EXISTS _rej_errors; DROP TABLE IF EXISTS _rej_scans');
    const res = await conn.runAndReadAll(
      copy(`store_rejects=true, rejects_table='_rej_errors', rejects_scan='_rej_scans'`),
    );
    rows = Number((res.getRowObjectsJS()[0] as { Count: bigint }).Count);
    const n = await conn.runAndReadAll('SELECT count(DISTINCT line) AS n FROM _rej_errors');
    rejected = Number((n.getRowObjectsJS()[0] as { n: bigint }).n);
    await fsp.mkdir(path.dirname(path.resolve(rejectFile)), { recursive: true });
    await conn.run(rejectCopySql('_rej_errors', `${rejectFile}.sluice-part`));
    await fsp.rename(`${rejectFile}.sluice-part`, rejectFile);
    await conn.run('DROP TABLE IF EXISTS _rej_errors; DROP TABLE IF EXISTS _rej_scans');
  } else {
    try {
      const res = await conn.runAndReadAll(copy(''));
      rows = Number((res.getRowObjectsJS()[0] as { Count: bigint }).Count);
    } catch (error) {
      // A full disk is not the file's fault: E012 naming where, never E003 about the CSV.
      const wrapped = wrapDuckDBError(error, { file: display });
      if (wrapped.code === 'E012') throw wrapped;
      const { rejects, total } = await collectRejects(conn, readCsv).catch(() => ({
        rejects: [],
        total: 0,
      }));
      if (total > 0) throw rejectsError(display, rejects, total, error);
      throw new SchemaValidationError(`${display}: ${(error as Error).message.split('\n')[0]}`, {
        cause: error,
        context: { file: display },
      });
    }
  }
  const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(out)})`);
  const columns = (desc.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((c) => ({
    name: c.column_name,
    type: c.column_type,
  }));
  return { rows, rejected, columns };
}
