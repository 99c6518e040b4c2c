/**
 * Column schemas of raw CSV sources: the seed's type names (String, Int, Decimal, Float64, Date)
 * plus Boolean and Timestamp, mapped to DuckDB types so that parsing and casting stay in DuckDB.
 */
import { z } from 'zod';
import { SchemaValidationError } from '../errors.ts';
import { readYamlFile } from '../util/yaml-file.ts';

export const COLUMN_TYPES = ['String', 'Int', 'Decimal', 'Float64', 'Date', 'Boolean', 'Timestamp'] as const;
export type ColumnTypeName = (typeof COLUMN_TYPES)[number];

/** Column name → type name, in file order. `Decimal(p,s)` is accepted; plain Decimal is DECIMAL(18,6). */
export type ColumnSchema = Record<string, string>;

const BASE_SQL: Record<ColumnTypeName, string> = {
  String: 'VARCHAR',
  Int: 'BIGINT',
  Decimal: 'DECIMAL(18,6)',
  Float64: 'DOUBLE',
  Date: 'DATE',
  Boolean: 'BOOLEAN',
  Timestamp: 'TIMESTAMP',
};

const ALIASES: Record<string, ColumnTypeName> = {
  string: 'String',
  str: 'String',
  varchar: 'String',
  text: 'String',
  int: 'Int',
  integer: 'Int',
  int64: 'Int',
  bigint: 'Int',
  decimal: 'Decimal',
  numeric: 'Decimal',
  float: 'Float64',
  float64: 'Float64',
  double: 'Float64',
  date: 'Date',
  bool: 'Boolean',
  boolean: 'Boolean',
  timestamp: 'Timestamp',
  datetime: 'Timestamp',
};

/** The DuckDB type for a schema type name; throws E003 naming the column for an unknown type. */
export function duckdbType(typeName: string, column = '?'): string {
  const m = /^\s*([A-Za-z0-9]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$/.exec(typeName);
  const base = m?.[1] ? ALIASES[m[1].toLowerCase()] : undefined;
  if (!m || !base) {
    throw new SchemaValidationError(
      `Unknown type ${JSON.stringify(typeName)} for column ${column}; use one of ${COLUMN_TYPES.join(', ')}`,
      { context: { column, type: typeName } },
    );
  }
  if (base === 'Decimal' && m[2]) {
    const p = Number(m[2]);
    const s = Number(m[3] ?? 0);
    if (p < 1 || p > 38 || s > p) {
      throw new SchemaValidationError(
        `Invalid precision in ${typeName} for column ${column} (1 ≤ p ≤ 38, s ≤ p)`,
        {
          context: { column, type: typeName },
        },
      );
    }
    return `DECIMAL(${p},${s})`;
  }
  return BASE_SQL[base];
}

const schemaShape = z.record(z.string().min(1), z.string().min(1));

/** Checks a schema object; every type must be known. Returns it unchanged. */
export function parseSchema(value: unknown, where = 'schema'): ColumnSchema {
  const inner =
    value && typeof value === 'object' && 'columns' in value
      ? (value as { columns: unknown }).columns
      : value;
  const parsed = schemaShape.safeParse(inner);
  if (!parsed.success || Object.keys(parsed.data).length === 0) {
    throw new SchemaValidationError(
      `${where} must map column names to type names (e.g. "year: Int"), got ${JSON.stringify(inner)?.slice(0, 200)}`,
      { context: { where } },
    );
  }
  for (const [col, type] of Object.entries(parsed.data)) duckdbType(type, col);
  return parsed.data;
}

/** Reads a schema from YAML or JSON: a flat mapping or `{columns: mapping}`. */
export function loadSchemaFile(file: string): ColumnSchema {
  const data = readYamlFile(file, {
    what: 'schema file',
    error: (message, options) => new SchemaValidationError(message, options),
  });
  return parseSchema(data, `schema file ${file}`);
}

/** `{'a':'BIGINT',…}` — the columns= argument of read_csv. */
export function duckdbColumnsLiteral(schema: ColumnSchema): string {
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return `{${Object.entries(schema)
    .map(([c, t]) => `${q(c)}: ${q(duckdbType(t, c))}`)
    .join(', ')}}`;
}
