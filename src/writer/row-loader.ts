/**
 * Loads JavaScript rows into a DuckDB table through the appender (≈ 10× faster than staging
 * JSON text for DuckDB to parse), so Parquet and partitioned outputs are one `COPY … TO` away.
 *
 * Column types are inferred from the first rows and widened when a later row disagrees
 * (integer → DOUBLE → VARCHAR; a new key adds a column), so the result is what a full scan
 * would have chosen. Values keep their type: integers BIGINT, other numbers (and -0) DOUBLE,
 * booleans BOOLEAN, Dates TIMESTAMP (UTC), bigints BIGINT, strings VARCHAR, objects and arrays
 * JSON text. Numbers keep their exact value or the load fails (see column-types.ts).
 * Timestamps are held as epoch milliseconds (DOUBLE) and decimals as text while loading, and
 * converted in `select`.
 */
import type { DuckDBConnection } from '../engine/duckdb.ts';
import { quoteIdent } from '../engine/duckdb.ts';
import { ValidationError } from '../errors.ts';
import type { Row } from '../formats/types.ts';
import {
  type Decimal,
  decimalText,
  fits,
  isWideInteger,
  type Kind,
  type NumberHistory,
  SQL_TYPE,
  schemaKind,
  schemaMismatch,
  widen,
} from './column-types.ts';

export interface RowLoaderOptions {
  /**
   * Column → type (BIGINT, DOUBLE, DECIMAL(p, s), BOOLEAN, TIMESTAMP, VARCHAR); fixes the columns
   * and their order. A value its type cannot hold exactly is refused, never rounded.
   */
  schema?: Record<string, string>;
  signal?: AbortSignal;
  onRows?: (rows: number) => void;
}

export interface LoadedRows {
  rows: number;
  /** A SELECT that yields the rows with their real types. */
  select: string;
  /**
   * The same rows for a text output (csv, json, jsonl): Dates as `Date.toISOString()` prints
   * them, as the format layer writes them when the output is not partitioned.
   */
  textSelect: string;
  columns: string[];
  /**
   * Some DOUBLE column holds both 0 and -0. DuckDB's Parquet dictionary (1.5) files them as one
   * value, so whichever comes first replaces the other: the COPY must then go without dictionary.
   */
  signedZeros: boolean;
}

/** Loads rows into `table`; returns the row count and a SELECT that yields them with their real types. */
export async function loadRows(
  conn: DuckDBConnection,
  table: string,
  rows: Iterable<Row> | AsyncIterable<Row>,
  options: RowLoaderOptions = {},
): Promise<LoadedRows> {
  const columns: string[] = [];
  const kinds: Kind[] = [];
  const decimals: (Decimal | undefined)[] = [];
  const histories: NumberHistory[] = [];
  const index = new Map<string, number>();
  const fixed = options.schema !== undefined;
  for (const [name, type] of Object.entries(options.schema ?? {})) {
    const { kind, decimal } = schemaKind(name, type);
    index.set(name, columns.length);
    columns.push(name);
    kinds.push(kind);
    decimals.push(decimal);
    histories.push({});
  }
  let created = false;
  let appender: Awaited<ReturnType<DuckDBConnection['createAppender']>> | undefined;
  const values: unknown[] = [];
  // Rows seen before the table exists (the first 1,000 shape the initial schema).
  const buffered: unknown[][] = [];
  let count = 0;
  // Per column: 1 when a -0 was appended, 2 when a 0 (integer zeros become 0 when widened).
  const zeroSigns: number[] = [];

  const create = async () => {
    if (columns.length === 0) {
      throw new ValidationError(
        'the rows have no columns: nothing to write (pass a schema for an empty table)',
      );
    }
    const defs = columns.map((c, i) => `${quoteIdent(c)} ${SQL_TYPE[kinds[i] as Kind]}`).join(', ');
    await conn.run(`CREATE TABLE ${quoteIdent(table)} (${defs})`);
    created = true;
  };
  const reopen = async () => {
    appender?.flushSync();
    appender?.closeSync();
    appender = await conn.createAppender(table);
  };
  const alter = async (i: number, to: Kind) => {
    const col = quoteIdent(columns[i] as string);
    const from = kinds[i] as Kind;
    const using = from === 'timestamp' ? ` USING ${isoText(col)}` : '';
    appender?.flushSync();
    await conn.run(`ALTER TABLE ${quoteIdent(table)} ALTER ${col} SET DATA TYPE ${SQL_TYPE[to]}${using}`);
    kinds[i] = to;
  };

  /** Adds new columns and widens types for a row that does not fit; true if the table changed. */
  const reshape = async (row: Row): Promise<boolean> => {
    let changed = false;
    if (!fixed) {
      for (const key in row) {
        if (index.has(key)) continue;
        index.set(key, columns.length);
        columns.push(key);
        kinds.push('null');
        histories.push({});
        if (created) {
          appender?.flushSync();
          await conn.run(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${quoteIdent(key)} VARCHAR`);
        }
        changed = true;
      }
    }
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as string;
      const value = row[column];
      values[i] = value;
      const kind = kinds[i] as Kind;
      if (fixed) {
        if (fits(kind, value, decimals[i])) continue;
        throw schemaMismatch(column, options.schema?.[column] ?? '', kind, value, count, decimals[i]);
      }
      const history = histories[i] as NumberHistory;
      noteWide(history, value, count);
      const to = widen(column, kind, value, count, history);
      if (to === undefined) continue;
      if (to === 'double') history.double ??= { row: count, value };
      if (created) await alter(i, to);
      else kinds[i] = to;
      changed = true;
    }
    return changed;
  };

  for await (const row of rows as AsyncIterable<Row>) {
    if (count % 1024 === 0) options.signal?.throwIfAborted();
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new ValidationError(`row ${count} is not an object`, { context: { row: count } });
    }
    // Hot path: every value fits its column and the row has no key we have not seen.
    let present = 0;
    let fitsAll = true;
    const width = columns.length;
    for (let i = 0; i < width; i++) {
      const value = row[columns[i] as string];
      values[i] = value;
      if (value !== undefined) present++;
      if (!fits(kinds[i] as Kind, value, decimals[i])) fitsAll = false;
      else if (typeof value === 'bigint') noteWide(histories[i] as NumberHistory, value, count);
    }
    let keys = 0;
    if (!fixed) for (const _ in row) keys++;
    let changed = false;
    if (!fitsAll || keys > present) changed = await reshape(row);
    // The table is created once 1,000 rows have shaped the first guess of the schema.
    if (!created && (count >= 1000 || fixed)) {
      await create();
      await reopen();
      for (const pending of buffered) append(pending);
      buffered.length = 0;
    } else if (created && changed) {
      await reopen();
    }
    if (created && appender) append(values);
    else buffered.push(values.slice(0, columns.length));
    count++;
    if (options.onRows && count % 10_000 === 0) options.onRows(count);
  }
  if (!created) {
    await create();
    await reopen();
    for (const pending of buffered) append(pending);
  }
  appender?.flushSync();
  appender?.closeSync();
  const selectAs = (text: boolean) =>
    `SELECT ${columns.map((c, i) => selected(c, kinds[i] as Kind, decimals[i], text)).join(', ')} FROM ${quoteIdent(table)}`;
  const signedZeros = zeroSigns.some((signs, i) => signs === 3 && kinds[i] === 'double');
  return { rows: count, select: selectAs(false), textSelect: selectAs(true), columns, signedZeros };

  function append(vals: unknown[]): void {
    const app = appender as NonNullable<typeof appender>;
    for (let i = 0; i < columns.length; i++) {
      const v = vals[i];
      if (v === null || v === undefined) {
        app.appendNull();
        continue;
      }
      switch (kinds[i]) {
        case 'bigint':
          if (v === 0 || v === 0n) zeroSigns[i] = (zeroSigns[i] ?? 0) | 2;
          if (typeof v === 'bigint') app.appendBigInt(v);
          else app.appendDouble(v as number);
          break;
        case 'double': {
          // fits() let only bigints within ±2^53 in, so Number() is exact.
          const d = typeof v === 'bigint' ? Number(v) : (v as number);
          if (d === 0) zeroSigns[i] = (zeroSigns[i] ?? 0) | (1 / d < 0 ? 1 : 2);
          app.appendDouble(d);
          break;
        }
        case 'decimal':
          app.appendVarchar(decimalText(v as number | bigint));
          break;
        case 'boolean':
          app.appendBoolean(v as boolean);
          break;
        case 'timestamp':
          app.appendDouble((v as Date).getTime());
          break;
        default:
          app.appendVarchar(
            typeof v === 'string'
              ? v
              : v instanceof Date
                ? v.toISOString()
                : typeof v === 'object'
                  ? JSON.stringify(v)
                  : Object.is(v, -0)
                    ? '-0'
                    : String(v),
          );
      }
    }
    app.endRow();
  }
}

/** Records the first integer of a column that a DOUBLE would round. */
function noteWide(history: NumberHistory, value: unknown, row: number): void {
  if (history.wide === undefined && isWideInteger(value)) history.wide = { row, value };
}

/** A timestamp column (epoch ms) as `Date.toISOString()` text. */
function isoText(c: string): string {
  return `strftime(make_timestamp((${c} * 1000)::BIGINT), '%Y-%m-%dT%H:%M:%S.%gZ')`;
}

/**
 * The column as the output has it: timestamps from epoch ms (as ISO text for a text output),
 * decimals from their exact text.
 */
function selected(column: string, kind: Kind, decimal: Decimal | undefined, text: boolean): string {
  const c = quoteIdent(column);
  if (kind === 'timestamp') return `${text ? isoText(c) : `make_timestamp((${c} * 1000)::BIGINT)`} AS ${c}`;
  if (kind === 'decimal' && decimal)
    return `CAST(${c} AS DECIMAL(${decimal.precision}, ${decimal.scale})) AS ${c}`;
  return c;
}
