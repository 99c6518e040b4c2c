/** JSON Lines: one JSON object per line, UTF-8, `\n` separated. Streams both ways. */

import { FormatError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { parseJson } from '../util/json-parse.ts';
import { ChunkBuffer, iterateRows, putEncoded, splitLines, stringifyJson } from './common.ts';
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
}

async function* decodeJsonl(
  bytes: ByteSource,
  options: JsonlReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const where = options.source ? `${options.source} ` : '';
  for await (const { line, number } of splitLines(bytes, options.signal)) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = parseJson(line);
    } catch (error) {
      if (options.skipInvalid) continue;
      throw new FormatError(`JSONL ${where}line ${number} is not valid JSON: ${(error as Error).message}`, {
        cause: error,
        context: { line: number, ...(options.source ? { file: options.source } : {}) },
      });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      if (options.skipInvalid) continue;
      throw new FormatError(`JSONL ${where}line ${number} is not a JSON object`, {
        context: { line: number, ...(options.source ? { file: options.source } : {}) },
      });
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
