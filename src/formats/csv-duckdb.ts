/**
 * Reading a user's CSV with DuckDB, strictly. DuckDB's reader is fast but lenient: it sniffs a
 * different header from a ragged file, takes a stray quote as data and drops trailing empty
 * fields. So:
 *
 * 1. The dialect is given (header, comma, double quotes, no comments, strict mode), never
 *    sniffed; column names come from sluice's own reading of the header, types from DuckDB.
 * 2. A quick pass over the bytes at native speed (UTF-8 check, quote placement, records that end
 *    in a delimiter) runs beside DuckDB; anything it cannot
 *    clear, and any DuckDB error, sends the file through the full tokenizer (csv-scan.ts),
 *    whose E021 names the file, line and column.
 *
 * So a file DuckDB reads is one the strict tokenizer accepts, at close to DuckDB's own speed.
 */
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { duckdbReason } from '../engine/duckdb.ts';
import { FormatError } from '../errors.ts';
import { validateCsvFile } from './csv-validate.ts';
import { createDelimiterEndScanner } from './delimiter-ends.ts';
import { completeUtf8Length } from './utf8.ts';

export { readCsvHeader, validateCsvFile } from './csv-validate.ts';

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

/**
 * The read_csv options for a checked file (header line, comma, double quotes, no comments).
 * DuckDB refuses lines over 2 MB by default; pass the file's longest record (from the tokenizer,
 * after DuckDB reported a line too long) to raise the limit just enough — bigger buffers cost
 * speed and memory, so they are not the default.
 */
export function strictReadCsvOptions(longestRecord?: number): string {
  const dialect = `header=true, delim=',', quote='"', escape='"', skip=0, comment='', strict_mode=true, null_padding=false`;
  if (longestRecord === undefined || longestRecord < 1024 * 1024) return dialect;
  const maxLine = longestRecord + 1024;
  return `${dialect}, max_line_size=${maxLine}, buffer_size=${Math.max(maxLine * 2, 16 * 1024 * 1024)}`;
}

/** The longest record of a valid CSV file, in bytes (a full tokenizer pass). */
export async function longestCsvRecord(file: string, source = file): Promise<number> {
  return (await validateCsvFile(file, { source, uniqueIgnoringCase: true })).longestRecord;
}

/** Whether DuckDB failed on a value that does not fit the type it guessed from a sample of rows. */
export function isTypeGuessError(error: unknown): boolean {
  for (
    let e = error as { message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (/Could not convert string|Conversion Error/.test(String(e.message ?? ''))) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** Whether DuckDB refused a line for its length (then retry with `strictReadCsvOptions(true)`). */
export function isLineTooLong(error: unknown): boolean {
  // Only the error itself: DuckDB's "possible fixes" for other errors mention the line size too.
  // The cause chain is searched: callers may have wrapped DuckDB's error.
  for (
    let e = error as { message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (/Maximum line size of \d+ bytes exceeded/.test(String(e.message ?? ''))) return true;
    e = e.cause as typeof e;
  }
  return false;
}

export interface QuickCheckOptions {
  /** Named in errors. */
  source?: string;
  /** Passed to the full tokenizer when the quick pass cannot clear the file. */
  allowRagged?: boolean;
  signal?: AbortSignal;
}

/**
 * Resolves when the file is valid CSV by the strict rules; rejects with the tokenizer's E021
 * otherwise. Cheap for ordinary files (a few native searches per MiB); falls back to the full
 * tokenizer for files it cannot clear (dense quotes, records ending in a delimiter).
 */
export async function checkCsvForDuckdb(file: string, options: QuickCheckOptions): Promise<void> {
  if (await quickPass(file, options)) return;
  await fullCheck(file, options);
}

/** The full tokenizer over the file: throws its E021, or resolves when the file is valid. */
export async function fullCheck(
  file: string,
  options: Pick<QuickCheckOptions, 'source' | 'allowRagged'>,
): Promise<void> {
  await validateCsvFile(file, {
    source: options.source ?? file,
    uniqueIgnoringCase: true,
    ...(options.allowRagged ? { allowRagged: true } : {}),
  });
}

/** True when every check passed; false when the full tokenizer must decide. */
async function quickPass(file: string, options: QuickCheckOptions): Promise<boolean> {
  let inQuote = false;
  let previous = LF; // the byte before the current chunk (a file starts like a line)
  let pendingClose = false; // a quote closed at a chunk's last byte: the next byte decides
  let carry = 0; // bytes of an incomplete UTF-8 sequence moved to the buffer's start
  let position = 0;
  // One reused buffer, in the record-end scanner's memory so the file is read straight into it:
  // nothing of a chunk is kept, and stream chunks cost 5x the reads.
  const scanner = createDelimiterEndScanner();
  const buffer = scanner.buffer.subarray(0, 4 * 1024 * 1024);
  const handle = await open(file, 'r');
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, carry, buffer.length - carry, position);
      if (bytesRead === 0) break;
      let start = 0;
      if (position === 0 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) start = 3;
      position += bytesRead;
      const filled = carry + bytesRead;
      const cut = completeUtf8Length(buffer.subarray(0, filled));
      if (!isUtf8(buffer.subarray(0, cut))) return false;
      // New bytes only (the carried ones were scanned with the previous chunk).
      const from = Math.max(start, carry);
      // A record ending in a delimiter may carry an extra empty field that DuckDB drops; such
      // files (and any `,\n` inside quotes) go to the full tokenizer, which knows where records end.
      if (scanner.find(from, filled) >= 0) return false;
      let chunk = buffer.subarray(from, filled);
      if (pendingClose) {
        pendingClose = false;
        const next = chunk[0];
        if (next === QUOTE) {
          // An escaped quote split across chunks: still inside the field.
          inQuote = true;
          chunk = chunk.subarray(1);
          previous = QUOTE;
        } else if (next !== COMMA && next !== LF && next !== CR) return false;
      }
      if (previous === COMMA && chunk[0] === CR) return false;
      const quotes = scanQuotes(chunk, inQuote, previous);
      if (quotes === undefined || quotes.dense) return false;
      inQuote = quotes.inQuote;
      pendingClose = quotes.pendingClose;
      if (chunk.length > 0) previous = chunk[chunk.length - 1] as number;
      // The scanner finds an end split across chunks from the two bytes before the next one.
      scanner.setBytesBefore(filled >= 2 ? (buffer[filled - 2] as number) : 0, buffer[filled - 1] as number);
      carry = filled - cut;
      if (carry > 0) buffer.copyWithin(0, cut, filled);
    }
    if (carry > 0 || inQuote || pendingClose) return pendingClose && !inQuote && carry === 0;
    // A file ending in a delimiter has an extra empty field DuckDB would drop.
    return previous !== COMMA;
  } finally {
    await handle.close();
  }
}

interface QuoteScan {
  inQuote: boolean;
  pendingClose: boolean;
  /** So many quotes that the full tokenizer is as fast as native searches. */
  dense: boolean;
}

/** Checks quote placement in one chunk; undefined when a quote is misplaced. */
function scanQuotes(b: Buffer, startInQuote: boolean, previous: number): QuoteScan | undefined {
  let inQuote = startInQuote;
  let count = 0;
  // Past one quote per 256 bytes, native searches cost as much as the full tokenizer.
  const dense = b.length / 256;
  let q = b.indexOf(QUOTE, 0);
  while (q >= 0) {
    if (++count > dense) return { inQuote, pendingClose: false, dense: true };
    if (!inQuote) {
      const before = q === 0 ? previous : (b[q - 1] as number);
      if (before !== COMMA && before !== LF) return undefined; // a quote inside a plain field
      inQuote = true;
    } else {
      if (q === b.length - 1) return { inQuote: false, pendingClose: true, dense: false };
      const after = b[q + 1] as number;
      if (after === QUOTE) {
        q = b.indexOf(QUOTE, q + 2); // an escaped quote: still inside
        continue;
      }
      if (after !== COMMA && after !== LF && after !== CR) return undefined;
      inQuote = false;
    }
    q = b.indexOf(QUOTE, q + 1);
  }
  return { inQuote, pendingClose: false, dense: false };
}

/**
 * A DuckDB error about a CSV the tokenizer accepted, in the user's words: file, line and what
 * is wrong, without DuckDB's SQL text, sniffer settings or temp paths.
 */
export function describeDuckdbCsvError(error: unknown, file: string): Error | undefined {
  const message = String((error as Error)?.message ?? error);
  // Only errors about the file's content: out of memory, disk full or an interrupt are not the
  // user's data (and a SQL echo of read_csv in them must not make them look so).
  if (!/CSV Error on Line|Could not convert string|CSV Parser|Invalid unicode/i.test(message))
    return undefined;
  const line = /CSV Error on Line: (\d+)/.exec(message)?.[1];
  const column = /Column at position: \d+ Name: (.+)/.exec(message)?.[1]?.trim();
  const cast = /Could not convert string "(.*?)" to '([A-Z0-9_]+)'/.exec(message);
  const what = cast ? `value ${JSON.stringify(cast[1])} is not a valid ${cast[2]}` : duckdbReason(error);
  return new FormatError(
    `CSV ${file}${line ? ` line ${line}` : ''}${column ? ` column ${JSON.stringify(column)}` : ''}: ${what}`,
    {
      cause: error,
      context: { file, ...(line ? { line: Number(line) } : {}), ...(column ? { column } : {}) },
    },
  );
}

/** A DuckDB error reading a user's Parquet file, naming the file and without the SQL echo. */
export function describeDuckdbParquetError(error: unknown, file: string): Error | undefined {
  const reason = duckdbReason(error).replaceAll(/ '[^']*'/g, ''); // temp and absolute paths
  return new FormatError(`Parquet ${file}: ${reason} (not a Parquet file, or a truncated one)`, {
    cause: error,
    context: { file },
  });
}
