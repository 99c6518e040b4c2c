/**
 * Bulk appends of columns held in typed arrays, through DuckDB data chunks: each value is set in
 * JavaScript and each 2,048-row vector crosses to DuckDB once, where the row appender made one
 * native call per value (over a second of a 2M-point time-series compaction went to those calls).
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** One column: numbers in a typed array (a value is NULL where `isNull` says so), or strings. */
export type AppendColumn =
  | { type: 'DOUBLE'; values: Float64Array; isNull?: (row: number) => boolean }
  | { type: 'UTINYINT'; values: Uint8Array }
  | { type: 'UINTEGER'; values: Uint32Array }
  | { type: 'VARCHAR'; values: readonly (string | undefined)[] };

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

/** Appends rows [0, rows) of `columns` to `table` (its columns in the same order and types). */
export async function appendColumns(
  conn: DuckDBConnection,
  table: string,
  rows: number,
  columns: readonly AppendColumn[],
): Promise<void> {
  const api = await import('@duckdb/node-api');
  const types = columns.map((c) => api[c.type]);
  const appender = await conn.createAppender(table);
  try {
    for (let start = 0, n = 0; start < rows; start += CHUNK_ROWS, n++) {
      const count = Math.min(CHUNK_ROWS, rows - start);
      const chunk = api.DuckDBDataChunk.create(types, count);
      columns.forEach((c, j) => {
        const vector = chunk.getColumnVector(j) as { setItem(i: number, v: unknown): void; flush(): void };
        fill(vector, c, start, count);
        vector.flush();
      });
      appender.appendDataChunk(chunk);
      // Appends are synchronous: yield now and then so appends and queries keep flowing.
      if (n % 25 === 24) await new Promise((r) => setImmediate(r));
    }
  } finally {
    appender.closeSync();
  }
}

function fill(
  vector: { setItem(i: number, v: unknown): void },
  c: AppendColumn,
  start: number,
  count: number,
): void {
  if (c.type === 'VARCHAR') {
    for (let i = 0; i < count; i++) vector.setItem(i, c.values[start + i] ?? null);
  } else if (c.type === 'DOUBLE' && c.isNull) {
    for (let i = 0; i < count; i++) vector.setItem(i, c.isNull(start + i) ? null : c.values[start + i]);
  } else {
    for (let i = 0; i < count; i++) vector.setItem(i, c.values[start + i]);
  }
}
