/**
 * Finding the exact bad rows of a CSV. The fast path converts strictly and fails on the first
 * problem; only then does a second DuckDB scan collect every rejected row (type, column count,
 * encoding) from its rejects tables, so the error can name file, row, column and value.
 */
import type { DuckDBConnection } from '../engine/duckdb.ts';
import { quoteLiteral } from '../engine/duckdb.ts';
import { SchemaValidationError, type SluiceError } from '../errors.ts';
import { readCsvHeader } from '../formats/csv-validate.ts';
import type { ColumnSchema } from './schema.ts';

export interface RejectedRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  column: string | null;
  errorType: string;
  value: string | null;
  message: string;
  csvLine: string;
}

/** Reads only the header (strictly: a broken header is E021) and checks names and order against the schema. */
export async function checkHeader(file: string, schema: ColumnSchema, display = file): Promise<void> {
  const header = await readCsvHeader(file, { source: display });
  const expected = Object.keys(schema);
  if (header.length !== expected.length) {
    throw new SchemaValidationError(
      `${display} row 1 (header): expected ${expected.length} columns (${expected.join(', ')}), found ${header.length} (${header.join(', ')})`,
      { context: { file: display, row: 1, expected, found: header } },
    );
  }
  for (let i = 0; i < expected.length; i++) {
    if (header[i]?.trim() !== expected[i]) {
      throw new SchemaValidationError(
        `${display} row 1 (header) column ${i + 1}: expected ${JSON.stringify(expected[i])}, found ${JSON.stringify(header[i])}`,
        { context: { file: display, row: 1, column: expected[i], found: header[i] } },
      );
    }
  }
}

/** Runs a DuckDB scan that stores every bad row, and returns them in file order. */
export async function collectRejects(
  conn: DuckDBConnection,
  readCsvSql: (extra: string) => string,
  limit = 1000,
): Promise<{ rejects: RejectedRow[]; total: number }> {
  const tag = `r${Math.random().toString(36).slice(2, 10)}`;
  // Every column must be read (count(COLUMNS(*))): count(*) alone would skip the casts.
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${tag}_ok AS SELECT count(COLUMNS(*)) FROM ${readCsvSql(`store_rejects=true, rejects_table='${tag}_errors', rejects_scan='${tag}_scans'`)}`,
  );
  // One bad line can yield several entries (e.g. one per missing column): count lines.
  const count = await conn.runAndReadAll(`SELECT count(DISTINCT line) AS n FROM ${tag}_errors`);
  const total = Number((count.getRowObjectsJS()[0] as { n: bigint }).n);
  const reader = await conn.runAndReadAll(
    `SELECT line, column_name, error_type, csv_line, error_message FROM ${tag}_errors ORDER BY line, column_idx LIMIT ${limit}`,
  );
  const rejects = (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r) => toReject(r));
  await conn.run(
    `DROP TABLE IF EXISTS ${tag}_ok; DROP TABLE IF EXISTS ${tag}_errors; DROP TABLE IF EXISTS ${tag}_scans`,
  );
  return { rejects, total };
}

function toReject(r: Record<string, unknown>): RejectedRow {
  const message = String(r.error_message ?? '');
  const value = /Could not convert string "(.*)" to/s.exec(message)?.[1] ?? null;
  return {
    line: Number(r.line),
    column: (r.column_name as string | null) ?? null,
    errorType: String(r.error_type),
    value,
    message,
    csvLine: String(r.csv_line ?? ''),
  };
}

/** The E003 for a file's first bad row; all collected rows ride along in the context. */
export function rejectsError(
  file: string,
  rejects: RejectedRow[],
  total: number,
  cause?: unknown,
): SluiceError {
  const first = rejects[0];
  if (!first) {
    return new SchemaValidationError(`${file} does not match its schema`, { cause, context: { file } });
  }
  const what =
    first.errorType === 'CAST'
      ? `value ${JSON.stringify(first.value)} ${first.message.replace(/^Error when converting column "[^"]*"\. /, '')}`
      : first.errorType === 'INVALID ENCODING' || first.errorType === 'INVALID UNICODE'
        ? 'invalid UTF-8 (the file must be UTF-8 encoded)'
        : `${first.errorType.toLowerCase()}: ${first.message}`;
  const more = total > 1 ? ` (${total - 1} more bad row(s); pass a reject file to keep the good rows)` : '';
  return new SchemaValidationError(
    `${file} row ${first.line} column ${first.column ?? '(row)'}: ${what}${more}`,
    {
      cause,
      context: {
        file,
        row: first.line,
        column: first.column,
        value: first.value,
        errorType: first.errorType,
        totalRejected: total,
        rejects: rejects.slice(0, 20),
      },
    },
  );
}

/** Writes rejected rows to a CSV file via DuckDB (line, column, error_type, value, message, csv_line). */
export function rejectCopySql(table: string, target: string): string {
  return `COPY (SELECT line, column_name AS column, error_type, csv_line, error_message FROM ${table} ORDER BY line) TO ${quoteLiteral(target)} (FORMAT csv, HEADER true)`;
}
