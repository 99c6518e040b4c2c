/**
 * Timestamps in text outputs (csv, json, jsonl) as ISO 8601. DuckDB's own text for them is
 * `2024-01-01 00:00:00+00`, which most readers of a CSV or JSON file do not take for the
 * `2024-01-01T00:00:00Z` that went in. An instant (TIMESTAMP WITH TIME ZONE) prints in UTC with
 * `Z`; a date-time without a zone (TIMESTAMP, _S, _MS, _NS) prints without one, as it was read.
 * Fractions keep the digits the value has (`.5`, `.789`, `.123456789`) and no trailing zeros.
 * Years before 1 and ±infinity keep DuckDB's text: ISO 8601 has no form for them that DuckDB reads.
 * Parquet needs none of this: it keeps the type.
 */
import { type DuckDBConnection, quoteIdent } from '../engine/duckdb.ts';

const LOCAL_TYPES = new Set(['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS']);
const INSTANT_TYPE = 'TIMESTAMP WITH TIME ZONE';

/** SQL for one timestamp column as ISO 8601 text, or undefined for a column of another type. */
export function isoTimestampSql(column: string, type: string): string | undefined {
  const c = quoteIdent(column);
  if (type === INSTANT_TYPE) {
    const utc = `timezone('UTC', ${c})`;
    return `CASE WHEN year(${utc}) > 0 THEN replace(CAST(${utc} AS VARCHAR), ' ', 'T') || 'Z' ELSE CAST(${c} AS VARCHAR) END`;
  }
  if (LOCAL_TYPES.has(type)) {
    return `CASE WHEN year(${c}) > 0 THEN replace(CAST(${c} AS VARCHAR), ' ', 'T') ELSE CAST(${c} AS VARCHAR) END`;
  }
  return undefined;
}

/**
 * The query with its timestamp columns replaced by ISO 8601 text (column names and order kept);
 * the query itself when it has none. Asks DuckDB for the column types (`DESCRIBE`), which for a
 * CSV is the sniffer's sample, not a scan.
 */
export async function withIsoTimestamps(conn: DuckDBConnection, sql: string): Promise<string> {
  const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM (${sql})`);
  const replaced: string[] = [];
  for (const row of described.getRowObjectsJS()) {
    const column = String(row.column_name);
    const text = isoTimestampSql(column, String(row.column_type));
    if (text) replaced.push(`${text} AS ${quoteIdent(column)}`);
  }
  return replaced.length === 0 ? sql : `SELECT * REPLACE (${replaced.join(', ')}) FROM (${sql})`;
}
