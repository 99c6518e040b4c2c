import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FormatError } from '../errors.ts';
import { rowFrom } from '../formats/csv.ts';
import { CsvScanner } from '../formats/csv-scan.ts';
import { invalidUtf8Error } from '../util/format-error-at.ts';
import { DEFAULT_JSON_MAX_DEPTH } from '../util/json-check.ts';
import { parseStrictJson, type StrictJsonOptions } from '../util/json-strict.ts';
import { isBlankLine, LineSplitter } from '../util/lines.ts';
import { decodeUtf8, locateInvalidUtf8 } from '../util/utf8.ts';

export type RecordFormat = 'json' | 'jsonl' | 'csv';

export interface ParseOptions {
  /** A JSON document is one record (`document`, as in the seed) or, if an array, one per element. @default 'document' */
  jsonArray?: 'document' | 'records';
  /** Largest decompressed JSON document, or JSONL line / CSV row, held in memory. @default 64 MiB */
  maxRecordBytes?: number;
  /** How the limit is named in errors (the CLI names its flag). @default 'maxRecordBytes' */
  limitName?: string;
  /** Deepest nesting of arrays and objects in a JSON document or JSONL line; deeper is E021. @default 512 */
  maxDepth?: number;
}

export interface ParsedRecord {
  /** 1-based record number within the object: the job id is derived from it. */
  n: number;
  record: unknown;
  /** 1-based line where the record starts (JSONL, CSV). */
  line?: number;
}

/** Format and compression from the key; undefined for keys the poller does not read. */
export function detectFormat(key: string): { format: RecordFormat; gzip: boolean } | undefined {
  const lower = key.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const base = gzip ? lower.slice(0, -3) : lower;
  if (base.endsWith('.json')) return { format: 'json', gzip };
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) return { format: 'jsonl', gzip };
  if (base.endsWith('.csv')) return { format: 'csv', gzip };
  return undefined;
}

const fail = (key: string, message: string, context: Record<string, unknown> = {}, cause?: unknown) =>
  new FormatError(`${key}: ${message}`, { context: { key, ...context }, ...(cause ? { cause } : {}) });

// Records become job payloads, serialised as JSON: a BigInt cannot be, and a rounded integer
// would be a silent change, so integers beyond ±(2^53 − 1) are refused (E021 naming their path).
const strict = (opts: Required<ParseOptions>, after: string): StrictJsonOptions => ({
  bigIntegers: 'refuse',
  maxDepth: opts.maxDepth,
  after,
});

/** A FormatError from the shared JSON readers, worded like the poller's others (`<key>: invalid JSON at line …`). */
function asPollerError(
  error: unknown,
  key: string,
  label: string,
  context: Record<string, unknown> = {},
): unknown {
  if (!(error instanceof FormatError)) return error;
  const message = error.message.replace(`${label} ${key} `, `invalid ${label} at `);
  return fail(key, message, { ...error.context, ...context }, error);
}

async function* jsonDocument(input: Readable, key: string, opts: Required<ParseOptions>) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > opts.maxRecordBytes) {
      input.destroy();
      throw fail(
        key,
        `JSON document exceeds ${opts.limitName} (${opts.maxRecordBytes} bytes); use JSONL for large inputs`,
      );
    }
    chunks.push(chunk);
  }
  let bytes = Buffer.concat(chunks);
  // A leading UTF-8 byte order mark is allowed and skipped (RFC 8259 §8.1 lets parsers ignore it).
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  bytes = bytes.subarray(bom);
  const at = { label: 'JSON', source: key, line: 1, column: 1 };
  let doc: unknown;
  try {
    const text = decodeUtf8(bytes);
    if (text === undefined) {
      const bad = locateInvalidUtf8(bytes, 1);
      throw invalidUtf8Error({ ...at, line: bad.line, column: bad.column }, bad.byte, bom + bad.index);
    }
    doc = parseStrictJson(
      text,
      at,
      strict(opts, 'a JSON object holds one value (use JSONL for one per line)'),
    );
  } catch (error) {
    throw asPollerError(error, key, 'JSON');
  }
  if (opts.jsonArray === 'records' && Array.isArray(doc)) {
    let n = 0;
    for (const record of doc) yield { n: ++n, record };
  } else {
    yield { n: 1, record: doc };
  }
}

/** One record per line through the bounded line splitter; blank lines are skipped. */
async function* jsonLines(input: Readable, key: string, opts: Required<ParseOptions>) {
  const splitter = new LineSplitter({
    label: 'JSONL',
    source: key,
    maxLineBytes: opts.maxRecordBytes,
    limitName: opts.limitName,
  });
  const options = strict(opts, 'JSON Lines has one value per line');
  // One position object, updated per line: errors copy what they name.
  const at = { label: 'JSONL', source: key, line: 0, column: 1 };
  let n = 0;
  const parse = (text: string): ParsedRecord | undefined => {
    at.line++;
    if (isBlankLine(text)) return undefined;
    const record = parseStrictJson(text, at, options);
    return { n: ++n, record, line: at.line };
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (const text of splitter.push(chunk)) {
        const rec = parse(text);
        if (rec) yield rec;
      }
    }
    for (const text of splitter.end()) {
      const rec = parse(text);
      if (rec) yield rec;
    }
  } catch (error) {
    throw asPollerError(error, key, 'JSONL', { row: n + 1 });
  }
}

/** CSV rows through the strict tokenizer shared with every CSV reader (formats/csv-scan.ts). */
async function* csvRows(input: Readable, key: string, opts: Required<ParseOptions>) {
  const scanner = new CsvScanner({
    source: key,
    maxRecordBytes: opts.maxRecordBytes,
    limitName: opts.limitName,
  });
  let n = 0;
  let names: readonly string[] = [];
  const toRecord = (r: { fields: string[]; line: number }): ParsedRecord => {
    if (n === 0) names = scanner.columns ?? [];
    return { n: ++n, record: rowFrom(names, r.fields, false), line: r.line };
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (const r of scanner.push(chunk)) yield toRecord(r);
    }
    for (const r of scanner.end()) yield toRecord(r);
  } catch (error) {
    if (error instanceof FormatError) {
      // The poller's errors name the key first and carry the row (records before it) as well.
      throw fail(
        key,
        error.message.replace(`CSV ${key} `, 'invalid CSV at '),
        { ...error.context, row: scanner.records + 1 },
        error,
      );
    }
    throw error;
  }
}

/**
 * Streams records out of one object: JSON (one document, or one per element), JSONL (one per
 * line) or CSV (one per row, header first), any of them gzipped. Throws FormatError (E021) with
 * `line`/`row` in its context on the first bad record.
 */
export async function* parseRecords(
  body: Readable,
  key: string,
  options: ParseOptions = {},
): AsyncGenerator<ParsedRecord> {
  const detected = detectFormat(key);
  if (!detected)
    throw fail(key, 'unsupported file type (expected .json, .jsonl, .ndjson or .csv, optionally .gz)');
  const opts: Required<ParseOptions> = {
    jsonArray: options.jsonArray ?? 'document',
    maxRecordBytes: options.maxRecordBytes ?? 64 * 1024 * 1024,
    maxDepth: options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH,
    limitName: options.limitName ?? 'maxRecordBytes',
  };
  let input: Readable = body;
  if (detected.gzip) {
    const gunzip = createGunzip();
    body.on('error', (e) => gunzip.destroy(e));
    input = body.pipe(gunzip);
  }
  try {
    if (detected.format === 'json') yield* jsonDocument(input, key, opts);
    else if (detected.format === 'jsonl') yield* jsonLines(input, key, opts);
    else yield* csvRows(input, key, opts);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    const code = (error as { code?: string }).code;
    if (code?.startsWith('Z_')) throw fail(key, `corrupt gzip data: ${(error as Error).message}`, {}, error);
    throw error;
  } finally {
    input.destroy();
    body.destroy();
  }
}
