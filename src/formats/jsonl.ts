/** JSON Lines: one JSON object per line, UTF-8, `\n` separated. Streams both ways. */

import { FormatError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { formatErrorAt } from '../util/format-error-at.ts';
import { parseStrictJson } from '../util/json-strict.ts';
import { isBlankLine, splitLines } from '../util/lines.ts';
import { ChunkBuffer, iterateRows, putEncoded, stringifyJson } from './common.ts';
import type { ByteSource, Format, FormatReader, FormatWriter, Row, Rows } from './types.ts';

/** One row as a JSONL line (with its trailing newline). Line separators inside strings are escaped by JSON. */
export function jsonlLine(row: unknown): string {
  return `${stringifyJson(row)}\n`;
}

async function* encodeJsonl(rows: Rows, options: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
  const buffer = new ChunkBuffer();
  for await (const row of iterateRows(rows, options.signal)) {
    const chunk = buffer.push(jsonlLine(row));
    if (chunk) yield chunk;
  }
  const last = buffer.flush();
  if (last) yield last;
}

export interface JsonlReadOptions {
  /** Skip lines that are not valid JSON objects instead of failing (a torn last line after a crash). @default false */
  skipInvalid?: boolean;
  /** Name used in error messages. */
  source?: string;
  /** Longest line in bytes; longer is E021 (before the line is held whole). @default 64 MiB */
  maxLineBytes?: number;
  /** Deepest nesting of arrays and objects in one line. @default 512 */
  maxDepth?: number;
}

/**
 * One strict JSON object per line (util/json-strict.ts), lines split by the bounded splitter
 * (util/lines.ts): UTF-8 only, a leading BOM skipped, LF or CRLF, the last line may lack its line
 * end, lines that are empty or only spaces and tabs are skipped; integers beyond ±(2^53 − 1)
 * are kept as BigInt.
 */
async function* decodeJsonl(
  bytes: ByteSource,
  options: JsonlReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const lines = splitLines(bytes, {
    label: 'JSONL',
    source: options.source,
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    skipInvalidUtf8: options.skipInvalid ?? false,
    signal: options.signal,
  });
  for await (const { text, line } of lines) {
    if (isBlankLine(text)) continue;
    const at = { label: 'JSONL', source: options.source, line, column: 1 };
    let value: unknown;
    try {
      value = parseStrictJson(text, at, {
        ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
        after: 'JSON Lines has one value per line',
      });
    } catch (error) {
      if (options.skipInvalid && error instanceof FormatError) continue;
      throw error;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      if (options.skipInvalid) continue;
      throw formatErrorAt(
        at,
        `the line is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}, not a JSON object`,
      );
    }
    yield value as Row;
  }
}

export const jsonlWriter: FormatWriter = {
  format: 'jsonl',
  extension: 'jsonl',
  contentType: 'application/x-ndjson',
  encode: encodeJsonl,
  write(storage: Storage, key, rows, options = {}) {
    return putEncoded(storage, key, 'jsonl', this.contentType, (r) => encodeJsonl(r, options), rows, options);
  },
};

export const jsonlReader: FormatReader<JsonlReadOptions> = {
  format: 'jsonl',
  decode: decodeJsonl,
  async *read(storage, key, options = {}) {
    const stream = await storage.getStream(key, options.signal ? { signal: options.signal } : {});
    yield* decodeJsonl(stream, { source: key, ...options });
  },
};

export const jsonl: Format<object, JsonlReadOptions> = {
  name: 'jsonl',
  writer: jsonlWriter,
  reader: jsonlReader,
};
