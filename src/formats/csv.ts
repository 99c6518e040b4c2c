/**
 * CSV through csv-stringify/csv-parse. The header is the union of the rows' keys in first-seen
 * order (not just the first row's). Without explicit `columns`, an array input is scanned in
 * memory and a streamed input is spooled to a temp JSONL file to find the union first, so
 * memory stays bounded. Cells: null/undefined → empty, Date → ISO 8601, objects/arrays → JSON.
 */
import { stringify as stringifySync } from 'csv-stringify/sync';
import { FormatError } from '../errors.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import { iterateRows, putEncoded, stringifyJson } from './common.ts';
import { CsvScanner } from './csv-scan.ts';
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
  /** Convert numbers (integers beyond 2^53 to BigInt, exactly); false keeps every value a string. @default false */
  cast?: boolean;
  /** @default ',' */
  delimiter?: string;
  /** Name used in error messages. */
  source?: string;
  /** Largest record in bytes (E021 above it). @default 64 MiB */
  maxRecordBytes?: number;
  /** Take a quote inside an unquoted field (`37°36'37.8"N`) as data instead of refusing it. @default false */
  relaxQuotes?: boolean;
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return stringifyJson(value);
  // String(-0) is "0"; "-0.0" is read back as negative zero, also by readers that type "-0" as an integer.
  if (value === 0 && 1 / value < 0) return '-0.0';
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
  const unnamed = columns.indexOf('');
  if (unnamed >= 0) {
    // A header cell with no name cannot be read back (the strict reader refuses it).
    throw new FormatError(`CSV column ${unnamed + 1} has an empty name: every column needs a name`, {
      context: { column: unnamed + 1 },
    });
  }
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

/** A row object from names and values; `__proto__` as a column name stays an ordinary key. */
export function rowFrom(names: readonly string[], values: readonly unknown[], safe: boolean): Row {
  if (!safe) return Object.fromEntries(names.map((name, i) => [name, values[i]]));
  const row: Row = {};
  for (let i = 0; i < names.length; i++) row[names[i] as string] = values[i];
  return row;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?(?:0|[1-9]\d*)$/;

/** `cast: true`: JSON-style numbers become numbers (integers beyond 2^53 BigInt, exactly); other cells stay strings. */
export function castCell(cell: string): unknown {
  if (!NUMBER.test(cell)) return cell;
  if (INTEGER.test(cell)) {
    const n = Number(cell);
    return Number.isSafeInteger(n) ? n : BigInt(cell);
  }
  const n = Number(cell);
  return Number.isFinite(n) ? n : cell;
}

/** Streams rows through the strict tokenizer (csv-scan.ts): a broken file is E021 naming file and line. */
async function* decodeCsv(
  bytes: ByteSource,
  options: CsvReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const header = options.columns ? false : (options.header ?? true);
  const scanner = new CsvScanner({
    header,
    ...(options.delimiter ? { delimiter: options.delimiter } : {}),
    ...(options.source ? { source: options.source } : {}),
    ...(options.maxRecordBytes ? { maxRecordBytes: options.maxRecordBytes } : {}),
    ...(options.relaxQuotes ? { relaxQuotes: true } : {}),
  });
  const given = options.columns ? [...options.columns] : undefined;
  const cast = options.cast ?? false;
  let names: readonly string[] | undefined = given;
  let safe = !given?.includes('__proto__');
  const toRow = (fields: string[], line: number): Row => {
    if (names === undefined) {
      names = scanner.columns ?? fields.map((_, i) => String(i));
      safe = !names.includes('__proto__');
    }
    if (given && fields.length !== given.length) {
      throw new FormatError(
        `CSV${options.source ? ` ${options.source}` : ''} line ${line}: ${fields.length} fields, but ${given.length} columns were given`,
        { context: { ...(options.source ? { file: options.source } : {}), line } },
      );
    }
    return rowFrom(names, cast ? fields.map(castCell) : fields, safe);
  };
  for await (const chunk of bytes) {
    if (options.signal?.aborted) throw options.signal.reason;
    const records = scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    for (const r of records) yield toRow(r.fields, r.line);
  }
  for (const r of scanner.end()) yield toRow(r.fields, r.line);
}

export const csvWriter: FormatWriter<CsvWriteOptions> = {
  format: 'csv',
  extension: 'csv',
  contentType: CONTENT_TYPES.csv,
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
