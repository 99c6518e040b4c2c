/**
 * Tables to bytes. Row tables go through the format layer (src/formats), streamed; DuckDB queries
 * and partitioned output go through DuckDB `COPY … TO`, staged in a private temp directory, and
 * every produced file is then put (encrypted when asked) into the task storage.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, type Engine, quoteIdent, quoteLiteral } from '../engine/duckdb.ts';
import { withQueryProgress } from '../engine/query-progress.ts';
import { ValidationError } from '../errors.ts';
import { getFormat } from '../formats/registry.ts';
import { TempDir } from '../formats/spool.ts';
import type { Row, Rows } from '../formats/types.ts';
import { withIsoTimestamps } from './iso-timestamps.ts';
import { jsonLinesToArray } from './json-array.ts';
import { loadRows } from './row-loader.ts';
import type { DataframeFormat, SqlTable, Table, WriteDataframeOptions } from './types.ts';

export function isSqlTable(table: unknown): table is SqlTable {
  return (
    table !== null &&
    typeof table === 'object' &&
    !Array.isArray(table) &&
    typeof (table as SqlTable).sql === 'string' &&
    !(Symbol.iterator in table) &&
    !(Symbol.asyncIterator in table)
  );
}

export function assertTable(table: unknown): asserts table is Table {
  if (isSqlTable(table)) return;
  if (
    table !== null &&
    typeof table === 'object' &&
    (Symbol.iterator in table || Symbol.asyncIterator in table)
  )
    return;
  throw new ValidationError(
    'table must be an array of row objects, an (async) iterable of rows, or { sql } (a DuckDB query)',
  );
}

/**
 * Counts rows as they stream past and reports every 10,000. A hand-written iterator rather than
 * an async generator: one generator hop per row is measurable at millions of rows.
 */
export function countRows(rows: Rows, counter: { rows: number }, onRows?: (rows: number) => void): Rows {
  if (Symbol.asyncIterator in rows) {
    return {
      [Symbol.asyncIterator](): AsyncIterator<Row> {
        const it = (rows as AsyncIterable<Row>)[Symbol.asyncIterator]();
        const step = (r: IteratorResult<Row>): IteratorResult<Row> => {
          if (!r.done) {
            counter.rows++;
            if (onRows && counter.rows % 10_000 === 0) onRows(counter.rows);
          }
          return r;
        };
        return {
          next: () => it.next().then(step),
          return: async (value?: unknown) => (await it.return?.(value)) ?? { done: true, value: undefined },
        };
      },
    };
  }
  return {
    [Symbol.iterator](): Iterator<Row> {
      const it = (rows as Iterable<Row>)[Symbol.iterator]();
      return {
        next: () => {
          const r = it.next();
          if (!r.done) {
            counter.rows++;
            if (onRows && counter.rows % 10_000 === 0) onRows(counter.rows);
          }
          return r;
        },
        return: (value?: unknown) => it.return?.(value) ?? { done: true, value: undefined },
      };
    },
  };
}

/** A dictionary's rows: an array of rows as it is, a mapping as `{ key, value }` rows. */
export function dictionaryRows(data: unknown): Row[] {
  if (Array.isArray(data)) return data as Row[];
  const rows =
    data !== null && typeof data === 'object'
      ? Object.entries(data).map(([key, value]) => ({ key, value }))
      : [];
  if (rows.length === 0)
    throw new ValidationError('a dictionary must be an object (key → value) or an array of rows');
  return rows;
}

/** Encodes a row table in a format through the format layer. */
export function encodeRows(
  rows: Rows,
  format: DataframeFormat,
  options: WriteDataframeOptions & { engine: Engine },
): AsyncIterable<Uint8Array> {
  const formatOptions: Record<string, unknown> = { engine: options.engine };
  if (options.compression) formatOptions.compression = options.compression;
  if (options.delimiter) formatOptions.delimiter = options.delimiter;
  if (options.pretty !== undefined) formatOptions.pretty = options.pretty;
  if (options.columns) formatOptions.columns = options.columns;
  if (options.schema) formatOptions.schema = options.schema;
  if (options.signal) formatOptions.signal = options.signal;
  return getFormat(format).writer.encode(rows, formatOptions);
}

function copyOptions(format: DataframeFormat, options: WriteDataframeOptions): string {
  switch (format) {
    case 'parquet':
      return `FORMAT parquet, COMPRESSION ${options.compression ?? 'zstd'}`;
    case 'csv':
      return `FORMAT csv, HEADER true, DELIMITER ${quoteLiteral(options.delimiter ?? ',')}`;
    case 'json': // staged as JSON lines, then made an array (json-array.ts)
    case 'jsonl':
      return 'FORMAT json';
  }
}

export interface StagedOutput {
  /** Local files with their path relative to the output (`col=v/part-0.parquet`, or the single file). */
  files: { file: string; relative: string }[];
  rows: number;
  temp: TempDir;
}

/**
 * Runs `COPY (query) TO …` into a temp directory: one file, or Hive partitions when
 * `partitionBy` is set. Row tables are loaded through the appender first (see row-loader.ts).
 * What is staged is plaintext even when the output is encrypted: the folder is private (0700)
 * and removed on every exit path (TempDir), the single file is created 0600 before DuckDB
 * writes into it, partition files are set to 0600 as soon as they exist, and an aborted signal
 * interrupts DuckDB so the folder goes at once.
 */
export async function stageWithDuckDB(
  table: Table,
  format: DataframeFormat,
  options: WriteDataframeOptions & {
    engine: Engine;
    partitionBy?: readonly string[];
    onRows?: (n: number) => void;
    /** While DuckDB runs a query table's COPY: its share done, 0…1. */
    onCopyProgress?: (fraction: number) => void;
  },
): Promise<StagedOutput> {
  const temp = await TempDir.create('writer');
  try {
    const partitions = options.partitionBy ?? [];
    const out = temp.file('out');
    const target = (extra = '') =>
      partitions.length > 0
        ? `${quoteLiteral(out)} (${copyOptions(format, options)}${extra}, PARTITION_BY (${partitions.map(quoteIdent).join(', ')}), FILENAME_PATTERN 'part-{i}')`
        : `${quoteLiteral(`${out}.${format}`)} (${copyOptions(format, options)}${extra}, USE_TMP_FILE false)`;
    // DuckDB keeps the mode of a file it truncates (USE_TMP_FILE false: no sibling it renames).
    if (partitions.length === 0) await writeFile(`${out}.${format}`, '', { mode: 0o600 });
    options.signal?.throwIfAborted();
    const rows = await options.engine.withConnection(async (conn) => {
      const interrupt = () => conn.interrupt();
      options.signal?.addEventListener('abort', interrupt, { once: true });
      try {
        return await copyInto(conn, table, format, target, out, options);
      } finally {
        options.signal?.removeEventListener('abort', interrupt);
      }
    });
    options.signal?.throwIfAborted();
    const files =
      partitions.length > 0
        ? (await listFiles(out)).map((file) => ({
            file,
            relative: path.relative(out, file).split(path.sep).join('/'),
          }))
        : [{ file: `${out}.${format}`, relative: '' }];
    await Promise.all(files.map(({ file }) => chmod(file, 0o600)));
    if (format === 'json') {
      for (const { file } of files) await jsonLinesToArray(file, options.pretty ?? true, options.signal);
    }
    return { files, rows, temp };
  } catch (error) {
    await temp.close();
    throw error;
  }
}

async function copyInto(
  conn: DuckDBConnection,
  table: Table,
  format: DataframeFormat,
  target: (extra?: string) => string,
  out: string,
  options: WriteDataframeOptions & {
    partitionBy?: readonly string[];
    onRows?: (n: number) => void;
    onCopyProgress?: (fraction: number) => void;
  },
): Promise<number> {
  if (isSqlTable(table)) {
    let sql = table.sql;
    for (let attempt = 0; ; attempt++) {
      try {
        const select = format === 'parquet' ? sql : await withIsoTimestamps(conn, sql);
        const result = await withQueryProgress(conn, options.onCopyProgress, () =>
          conn.run(`COPY (${select}) TO ${target()}`),
        );
        return Number(result.rowsChanged);
      } catch (error) {
        options.signal?.throwIfAborted();
        const next = attempt < 2 ? await table.retrySql?.(error) : undefined;
        if (next === undefined) throw (await table.describeError?.(error)) ?? error;
        sql = next;
        await rm(out, { recursive: true, force: true }); // partition folders of the failed try
      }
    }
  }
  const name = `sluice_rows_${randomBytes(6).toString('hex')}`;
  try {
    const loaded = await loadRows(conn, name, table as Rows, {
      ...(options.schema ? { schema: options.schema } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onRows ? { onRows: options.onRows } : {}),
    });
    for (const col of options.partitionBy ?? []) {
      if (!loaded.columns.includes(col)) {
        throw new ValidationError(
          `partitionBy column "${col}" is not in the rows (columns: ${loaded.columns.join(', ')})`,
        );
      }
    }
    // DuckDB's Parquet dictionary merges 0 and -0 (see LoadedRows.signedZeros).
    const extra = format === 'parquet' && loaded.signedZeros ? ', DICTIONARY_SIZE_LIMIT 0' : '';
    const select = format === 'parquet' ? loaded.select : loaded.textSelect;
    await conn.run(`COPY (${select}) TO ${target(extra)}`);
    return loaded.rows;
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(name)}`);
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return files.sort();
}
