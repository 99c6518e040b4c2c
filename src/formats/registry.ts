/** Picks a format by name or by a key's extension. */
import { ValidationError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { csv } from './csv.ts';
import { json } from './json.ts';
import { jsonl } from './jsonl.ts';
import { parquet } from './parquet.ts';
import type { Format, FormatName, FormatWriteResult, Row, Rows, WriteToStorageOptions } from './types.ts';

export const FORMAT_NAMES: readonly FormatName[] = ['json', 'jsonl', 'csv', 'parquet'];

// The options of every format are accepted; each driver reads only its own.
const FORMATS: Record<FormatName, Format<object, object>> = { json, jsonl, csv, parquet } as Record<
  FormatName,
  Format<object, object>
>;

export function isFormatName(name: string): name is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(name);
}

/** The format called `name`; ValidationError (E020) for an unknown one. */
export function getFormat(name: string): Format<object, object> {
  if (!isFormatName(name)) {
    throw new ValidationError(
      `Unknown format ${JSON.stringify(name)}: use one of ${FORMAT_NAMES.join(', ')}`,
      {
        context: { format: name },
      },
    );
  }
  return FORMATS[name];
}

/** The format of a key by its extension (`.ndjson` counts as jsonl); undefined when unknown. */
export function formatFromKey(key: string): FormatName | undefined {
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'ndjson') return 'jsonl';
  return isFormatName(ext) ? ext : undefined;
}

function resolve(key: string, format: string | undefined): Format<object, object> {
  const name = format ?? formatFromKey(key);
  if (!name) {
    throw new ValidationError(
      `Cannot tell the format of ${JSON.stringify(key)} from its extension: pass a format`,
      {
        context: { key },
      },
    );
  }
  return getFormat(name);
}

export type WriteRowsOptions = WriteToStorageOptions & { format?: FormatName } & Record<string, unknown>;

/** Writes rows to `storage` at `key` in `options.format` (default: by the key's extension). */
export function writeRows(
  storage: Storage,
  key: string,
  rows: Rows,
  options: WriteRowsOptions = {},
): Promise<FormatWriteResult> {
  return resolve(key, options.format).writer.write(storage, key, rows, options);
}

/** Streams the rows of `key` in `options.format` (default: by the key's extension). */
export function readRows(
  storage: Storage,
  key: string,
  options: { format?: FormatName; signal?: AbortSignal } & Record<string, unknown> = {},
): AsyncIterable<Row> {
  return resolve(key, options.format).reader.read(storage, key, options);
}
