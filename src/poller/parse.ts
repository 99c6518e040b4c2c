import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FormatError } from '../errors.ts';
import { rowFrom } from '../formats/csv.ts';
import { CsvScanner } from '../formats/csv-scan.ts';
import { parseJson } from '../util/json-parse.ts';

export type RecordFormat = 'json' | 'jsonl' | 'csv';

export interface ParseOptions {
  /** A JSON document is one record (`document`, as in the seed) or, if an array, one per element. @default 'document' */
  jsonArray?: 'document' | 'records';
  /** Largest decompressed JSON document, or JSONL line / CSV row, held in memory. @default 64 MiB */
  maxRecordBytes?: number;
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

async function* jsonDocument(input: Readable, key: string, opts: Required<ParseOptions>) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > opts.maxRecordBytes) {
      input.destroy();
      throw fail(
        key,
        `JSON document exceeds maxRecordBytes (${opts.maxRecordBytes} bytes); use JSONL for large inputs`,
      );
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch (error) {
    const pos = /position (\d+)/.exec((error as Error).message)?.[1];
    const line = pos === undefined ? undefined : text.slice(0, Number(pos)).split('\n').length;
    throw fail(
      key,
      `invalid JSON${line ? ` at line ${line}` : ''}: ${(error as Error).message}`,
      { line },
      error,
    );
  }
  if (opts.jsonArray === 'records' && Array.isArray(doc)) {
    let n = 0;
    for (const record of doc) yield { n: ++n, record };
  } else {
    yield { n: 1, record: doc };
  }
}

async function* jsonLines(input: Readable, key: string, opts: Required<ParseOptions>) {
  let pending = '';
  let line = 0;
  let n = 0;
  const decoder = new TextDecoder('utf-8');
  const emit = (text: string): ParsedRecord | undefined => {
    line++;
    const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (trimmed.trim() === '') return undefined;
    try {
      return { n: ++n, record: parseJson(trimmed), line };
    } catch (error) {
      throw fail(key, `invalid JSON on line ${line}: ${(error as Error).message}`, { line, row: n }, error);
    }
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    pending += decoder.decode(chunk, { stream: true });
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const rec = emit(pending.slice(0, nl));
      if (rec) yield rec;
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    if (pending.length > opts.maxRecordBytes) {
      input.destroy();
      throw fail(key, `line ${line + 1} exceeds maxRecordBytes (${opts.maxRecordBytes} bytes)`, {
        line: line + 1,
      });
    }
  }
  pending += decoder.decode();
  if (pending !== '') {
    const rec = emit(pending);
    if (rec) yield rec;
  }
}

/** CSV rows through the strict tokenizer shared with every CSV reader (formats/csv-scan.ts). */
async function* csvRows(input: Readable, key: string, opts: Required<ParseOptions>) {
  const scanner = new CsvScanner({ source: key, maxRecordBytes: opts.maxRecordBytes });
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
