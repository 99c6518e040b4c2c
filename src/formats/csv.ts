/**
 * CSV through csv-stringify/csv-parse. The header is the union of the rows' keys in first-seen
 * order (not just the first row's). Without explicit `columns`, an array input is scanned in
 * memory and a streamed input is spooled to a temp JSONL file to find the union first, so
 * memory stays bounded. Cells: null/undefined → empty, Date → ISO 8601, objects/arrays → JSON.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify as stringifySync } from 'csv-stringify/sync';
import { FormatError } from '../errors.ts';
import { iterateRows, putEncoded, stringifyJson } from './common.ts';
import { jsonlReader, jsonlWriter } from './jsonl.ts';
import { fileChunks, spoolToFile, TempDir } from './spool.ts';
import type { ByteSource, Format, FormatReader, FormatWriter, Row, Rows } from './types.ts';

export interface CsvWriteOptions {
  /** Columns in order; keys not listed are dropped. @default union of keys, first-seen order */
  columns?: readonly string[];
  /** Write a header line. @default true */
  header?: boolean;
  /** @default ',' */
  delimiter?: string;
}

export interface CsvReadOptions {
  /** First line is the header (rows are objects). @default true */
  header?: boolean;
  /** Use these names instead of a header line. */
  columns?: readonly string[];
  /** Convert numbers and booleans (false keeps every value a string). @default false */
  cast?: boolean;
  /** @default ',' */
  delimiter?: string;
  /** Name used in error messages. */
  source?: string;
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return stringifyJson(value);
  return String(value);
}

/** The union of keys of `rows`, in first-seen order. */
export function unionKeys(rows: Iterable<Row>): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

/**
 * The seed's CSV shapes: a list of objects is rows; a single plain object becomes `key,value`
 * rows; anything else returns undefined (the caller saves it as text, as the seed did).
 */
export function tabulate(data: unknown): Row[] | undefined {
  if (Array.isArray(data)) {
    return data.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))
      ? (data as Row[])
      : undefined;
  }
  if (data !== null && typeof data === 'object' && !(data instanceof Date)) {
    return Object.entries(data).map(([key, value]) => ({ key, value }));
  }
  return undefined;
}

async function* stringifyRows(
  rows: AsyncIterable<Row>,
  columns: readonly string[],
  options: CsvWriteOptions,
): AsyncIterable<Uint8Array> {
  // quoted_empty keeps a lone empty cell from becoming a blank line that readers skip; a cell
  // starting with U+FEFF is quoted so readers do not strip it as a byte-order mark.
  const settings = {
    delimiter: options.delimiter ?? ',',
    quoted_empty: true,
    quoted_match: /^\uFEFF/,
    eof: true,
  };
  // Records go to csv-stringify's synchronous API in batches: the same encoder, without a
  // stream transform (and its per-record events) between every row and the output.
  const BATCH = 2048;
  let batch: string[][] = [];
  if (options.header ?? true) batch.push([...columns]);
  for await (const row of rows) {
    batch.push(columns.map((c) => csvCell(Object.hasOwn(row, c) ? row[c] : undefined)));
    if (batch.length >= BATCH) {
      yield Buffer.from(stringifySync(batch, settings));
      batch = [];
    }
  }
  if (batch.length > 0) yield Buffer.from(stringifySync(batch, settings));
}

async function* encodeCsv(
  rows: Rows,
  options: CsvWriteOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Uint8Array> {
  if (options.columns) {
    yield* stringifyRows(iterateRows(rows, options.signal), options.columns, options);
    return;
  }
  if (Array.isArray(rows)) {
    const checked: Row[] = [];
    for await (const row of iterateRows(rows, options.signal)) checked.push(row);
    yield* stringifyRows(iterateRows(checked), unionKeys(checked), options);
    return;
  }
  // Streamed input: one pass to a temp file to learn the header, a second pass to write.
  const temp = await TempDir.create('csv');
  try {
    const seen = new Set<string>();
    async function* collect(): AsyncIterable<Row> {
      for await (const row of iterateRows(rows, options.signal)) {
        for (const key of Object.keys(row)) seen.add(key);
        yield row;
      }
    }
    const file = temp.file('rows.jsonl');
    await spoolToFile(file, jsonlWriter.encode(collect()));
    yield* stringifyRows(jsonlReader.decode(fileChunks(file)), [...seen], options);
  } finally {
    await temp.close();
  }
}

async function* decodeCsv(
  bytes: ByteSource,
  options: CsvReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const header = options.header ?? true;
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? ',',
    columns: options.columns ? [...options.columns] : header,
    cast: options.cast ?? false,
    skip_empty_lines: true,
  });
  const done = pipeline(Readable.from(bytes), parser).catch((error: unknown) => {
    parser.destroy(error as Error);
  });
  const where = options.source ? ` ${options.source}` : '';
  try {
    for await (const record of parser) {
      if (options.signal?.aborted) throw options.signal.reason;
      yield Array.isArray(record)
        ? Object.fromEntries(record.map((v, i) => [String(i), v]))
        : (record as Row);
    }
  } catch (error) {
    if (error instanceof FormatError) throw error;
    const line = (error as { lines?: number }).lines;
    throw new FormatError(`CSV${where}${line ? ` line ${line}` : ''}: ${(error as Error).message}`, {
      cause: error,
      context: { ...(line ? { line } : {}), ...(options.source ? { file: options.source } : {}) },
    });
  }
  await done;
}

export const csvWriter: FormatWriter<CsvWriteOptions> = {
  format: 'csv',
  extension: 'csv',
  contentType: 'text/csv; charset=utf-8',
  encode: encodeCsv,
  write(storage, key, rows, options = {}) {
    return putEncoded(storage, key, 'csv', this.contentType, (r) => encodeCsv(r, options), rows, options);
  },
};

export const csvReader: FormatReader<CsvReadOptions> = {
  format: 'csv',
  decode: decodeCsv,
  async *read(storage, key, options = {}) {
    const stream = await storage.getStream(key, options.signal ? { signal: options.signal } : {});
    yield* decodeCsv(stream, { source: key, ...options });
  },
};

export const csv: Format<CsvWriteOptions, CsvReadOptions> = {
  name: 'csv',
  writer: csvWriter,
  reader: csvReader,
};
