/**
 * Which column type holds which JavaScript value exactly, for the row loader (row-loader.ts).
 *
 * A JavaScript number is a double and a bigint an exact integer. A DOUBLE column holds an integer
 * exactly only within ±2^53, BIGINT has no fractions and no -0, and DECIMAL(p, s) has no more
 * than s digits after the point. Inference widens a column (integer → DOUBLE → VARCHAR) only
 * while every value keeps its exact value; when no inferred type can (an integer beyond ±2^53
 * beside a fraction), or a value does not fit its schema type, the write is refused with a
 * FormatError naming the row, the column and the value — never rounded.
 */
import { FormatError, type SluiceError, ValidationError } from '../errors.ts';
import { plainDecimal } from '../util/decimal-text.ts';

export type Kind = 'null' | 'bigint' | 'double' | 'decimal' | 'boolean' | 'timestamp' | 'varchar';

/** DECIMAL(precision, scale) of a schema column. */
export interface Decimal {
  precision: number;
  scale: number;
}

/** The table column type of each kind while loading (timestamps and decimals are converted in SELECT). */
export const SQL_TYPE: Record<Kind, string> = {
  null: 'VARCHAR',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  decimal: 'VARCHAR',
  boolean: 'BOOLEAN',
  timestamp: 'DOUBLE',
  varchar: 'VARCHAR',
};

const SCHEMA_KIND: Record<string, Kind> = {
  BIGINT: 'bigint',
  INTEGER: 'bigint',
  INT: 'bigint',
  DOUBLE: 'double',
  FLOAT: 'double',
  REAL: 'double',
  BOOLEAN: 'boolean',
  BOOL: 'boolean',
  TIMESTAMP: 'timestamp',
  VARCHAR: 'varchar',
  TEXT: 'varchar',
  STRING: 'varchar',
};

const DECIMAL_TYPE = /^\s*(?:DECIMAL|NUMERIC)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$/i;

/** Integers beyond this magnitude are not all doubles: 2^53 + 1 has no double. */
const DOUBLE_EXACT = 2n ** 53n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A schema type name as a kind (and its DECIMAL precision and scale). */
export function schemaKind(column: string, type: string): { kind: Kind; decimal?: Decimal } {
  const kind = SCHEMA_KIND[type.toUpperCase()];
  if (kind) return { kind };
  const m = DECIMAL_TYPE.exec(type);
  if (m) {
    // DuckDB's DECIMAL without arguments is DECIMAL(18, 3).
    const precision = m[1] === undefined ? 18 : Number(m[1]);
    const scale = m[2] === undefined ? (m[1] === undefined ? 3 : 0) : Number(m[2]);
    if (precision >= 1 && precision <= 38 && scale <= precision)
      return { kind: 'decimal', decimal: { precision, scale } };
  }
  throw new ValidationError(
    `schema type ${JSON.stringify(type)} for column "${column}" is not one of ${Object.keys(SCHEMA_KIND).join(', ')} or DECIMAL(p, s) with 1 ≤ p ≤ 38, 0 ≤ s ≤ p`,
  );
}

export function kindOf(value: unknown): Kind {
  switch (typeof value) {
    case 'number':
      // -0 is a safe integer to JavaScript, but only a double keeps its sign.
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? 'bigint' : 'double';
    case 'string':
      return 'varchar';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'bigint';
    case 'undefined':
      return 'null';
    case 'object':
      return value === null ? 'null' : value instanceof Date ? 'timestamp' : 'varchar';
    default:
      return 'varchar';
  }
}

/** A bigint that a DOUBLE column would round. */
export function isWideInteger(value: unknown): value is bigint {
  return typeof value === 'bigint' && (value > DOUBLE_EXACT || value < -DOUBLE_EXACT);
}

/** Whether a column of `kind` holds `value` exactly as it is. */
export function fits(kind: Kind, value: unknown, decimal?: Decimal): boolean {
  if (value === null || value === undefined) return true;
  switch (kind) {
    case 'varchar':
      return true;
    case 'double':
      return typeof value === 'number' || (typeof value === 'bigint' && !isWideInteger(value));
    case 'bigint':
      return typeof value === 'bigint'
        ? value >= INT64_MIN && value <= INT64_MAX
        : typeof value === 'number' && Number.isSafeInteger(value) && !Object.is(value, -0);
    case 'decimal':
      return decimal !== undefined && decimalProblem(value, decimal) === undefined;
    case 'boolean':
      return typeof value === 'boolean';
    case 'timestamp':
      return value instanceof Date;
    default:
      return false;
  }
}

/** Where a value came from, for messages. */
export interface Seen {
  row: number;
  value: unknown;
}

/** What the loader knows about one inferred column's numbers. */
export interface NumberHistory {
  /** The first integer beyond ±2^53 (kept while the column is BIGINT). */
  wide?: Seen;
  /** The first value that made the column DOUBLE. */
  double?: Seen;
}

/**
 * The narrowest kind holding what the column has and `value`; `undefined` when the column
 * already holds it. Throws when no inferred kind keeps every number exact.
 */
export function widen(
  column: string,
  have: Kind,
  value: unknown,
  row: number,
  history: NumberHistory,
): Kind | undefined {
  const next = kindOf(value);
  if (next === 'null' || have === 'varchar') return undefined;
  if ((have === 'null' || have === 'bigint') && typeof value === 'bigint' && !fits('bigint', value))
    throw outOfInt64(column, row, value);
  if (next === have) return undefined;
  if (have === 'null') return next;
  if (have === 'double' && next === 'bigint') {
    if (isWideInteger(value)) throw wideIntoDouble(column, row, value, history.double);
    return undefined;
  }
  if (have === 'bigint' && next === 'double') {
    if (history.wide) throw doubleBesideWide(column, row, value, history.wide);
    return 'double';
  }
  return 'varchar';
}

/** The refusal for a value that does not fit its schema type. */
export function schemaMismatch(
  column: string,
  type: string,
  kind: Kind,
  value: unknown,
  row: number,
  decimal?: Decimal,
): SluiceError {
  const at = `row ${row}, column "${column}"`;
  const context = { row, column, value: shown(value) };
  let why = `${typeof value} value does not fit the schema type ${type}`;
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (kind === 'double' && isWideInteger(value))
      why = `the integer ${value} does not fit the schema type ${type} exactly (it would become ${exactDouble(value)}); type the column BIGINT, DECIMAL(38, 0) or VARCHAR`;
    else if (kind === 'bigint' && typeof value === 'bigint')
      why = `${value} is outside BIGINT's range (−2^63 … 2^63−1); type the column DECIMAL(38, 0) or VARCHAR`;
    else if (kind === 'bigint')
      why = `${shown(value)} does not fit the schema type ${type}: ${Object.is(value, -0) ? 'an integer type has no -0' : 'it is not an integer that BIGINT holds'}; type the column DOUBLE`;
    else if (kind === 'decimal' && decimal)
      why = `${shown(value)} does not fit the schema type ${type} exactly: ${decimalProblem(value, decimal)}`;
  }
  return new FormatError(`${at}: ${why}`, { context });
}

/** Text of `value` for a DECIMAL column (numbers at their shortest decimal form: 0.1 is 0.1). */
export function decimalText(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  return plainDecimal(String(value));
}

/** Why `value` is not exactly a DECIMAL(p, s) value, or undefined when it is. */
function decimalProblem(value: unknown, { precision, scale }: Decimal): string | undefined {
  if (typeof value !== 'number' && typeof value !== 'bigint') return `a ${typeof value} is not a number`;
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value} has no DECIMAL form`;
  if (Object.is(value, -0)) return 'DECIMAL has no -0; type the column DOUBLE';
  const [int = '', frac = ''] = decimalText(value).replace('-', '').split('.');
  const intDigits = int.replace(/^0+/, '').length;
  if (frac.length > scale) return `it has ${frac.length} digits after the point, the type keeps ${scale}`;
  if (intDigits > precision - scale)
    return `it has ${intDigits} digits before the point, the type keeps ${precision - scale}`;
  return undefined;
}

function exactDouble(value: bigint): string {
  return BigInt(Number(value)).toString();
}

function shown(value: unknown): string {
  if (Object.is(value, -0)) return '-0';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

const FIX =
  'pass a schema typing the column VARCHAR (keeps the digits as text) or DECIMAL(38, s) with s digits after the point, or make the values one kind';

function wideIntoDouble(column: string, row: number, value: bigint, first: Seen | undefined): SluiceError {
  const because = first ? ` (it became DOUBLE at row ${first.row} for ${shown(first.value)})` : '';
  return new FormatError(
    `row ${row}, column "${column}": the integer ${value} cannot be stored exactly in this DOUBLE column${because}: it would become ${exactDouble(value)}; ${FIX}`,
    { context: { row, column, value: shown(value) } },
  );
}

function doubleBesideWide(column: string, row: number, value: unknown, wide: Seen): SluiceError {
  return new FormatError(
    `row ${row}, column "${column}": ${shown(value)} would make this integer column DOUBLE, which rounds its integer ${shown(wide.value)} (row ${wide.row}) to ${exactDouble(wide.value as bigint)}; ${FIX}`,
    { context: { row, column, value: shown(value) } },
  );
}

function outOfInt64(column: string, row: number, value: bigint): SluiceError {
  return new FormatError(
    `row ${row}, column "${column}": the integer ${value} is outside BIGINT's range (−2^63 … 2^63−1); pass a schema typing the column DECIMAL(38, 0) or VARCHAR`,
    { context: { row, column, value: shown(value) } },
  );
}
