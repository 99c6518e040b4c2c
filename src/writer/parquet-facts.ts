/**
 * What lineage says about staged Parquet files, read from their footers (no data pages): the rows
 * of each file, for its commit record, and the columns with their types, for OpenLineage's schema
 * facet. A partitioned table's partition columns live in its folder names, typed as DuckDB's Hive
 * reader reads them back.
 */
import { type Engine, quoteLiteral } from '../engine/duckdb.ts';

const list = (files: readonly string[]) => `[${files.map(quoteLiteral).join(', ')}]`;

/** Rows of each file, in the order given. */
export async function parquetRowCounts(engine: Engine, files: readonly string[]): Promise<number[]> {
  if (files.length === 0) return [];
  const rows = await engine.query<{ file_name: string; num_rows: bigint | number }>(
    `SELECT file_name, num_rows FROM parquet_file_metadata(${list(files)})`,
  );
  const byFile = new Map(rows.map((r) => [r.file_name, Number(r.num_rows)]));
  return files.map((f) => byFile.get(f) ?? 0);
}

/** Column names and DuckDB types of the table the files hold. */
export async function parquetFields(
  engine: Engine,
  files: readonly string[],
  partitioned: boolean,
): Promise<{ name: string; type: string }[]> {
  if (files.length === 0) return [];
  const rows = await engine.query<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM read_parquet(${list(files)}${partitioned ? ', hive_partitioning = true' : ''})`,
  );
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}
