/** JSON Lines: one JSON object per line, UTF-8, `\n` separated. Streams both ways. */

import { FormatError } from '../errors.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { Storage } from '../storage/types.ts';
import { formatErrorAt, type SourcePosition } from '../util/format-error-at.ts';
import { parseStrictJson, type StrictJsonOptions } from '../util/json-strict.ts';
import { isBlankLine, LineSplitter } from '../util/lines.ts';
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
 * end, lines that are empty or hold only JSON whitespace are skipped; integers beyond ±(2^53 − 1)
 * are kept as BigInt.
 */
async function* decodeJsonl(
  bytes: ByteSource,
  options: JsonlReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const splitter = new LineSplitter({
    label: 'JSONL',
    source: options.source,
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    skipInvalidUtf8: options.skipInvalid ?? false,
  });
  const strict: StrictJsonOptions = {
    ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
    after: 'JSON Lines has one value per line',
  };
  // One position object, updated per line: errors copy what they name.
  const at = { label: 'JSONL', source: options.source, line: 0, column: 1 };
  const rows: Row[] = [];
  const take = (lines: string[]) => {
    for (const text of lines) {
      at.line++;
      if (isBlankLine(text)) continue;
      const row = parseRow(text, at, strict, options.skipInvalid ?? false);
      if (row) rows.push(row);
    }
  };
  // Lines are taken a chunk at a time, so the async iteration costs once per chunk, not per line.
  for await (const chunk of bytes) {
    options.signal?.throwIfAborted();
    take(splitter.push(chunk));
    yield* rows;
    rows.length = 0;
  }
  take(splitter.end());
  yield* rows;
}

/** One line as a row; undefined when it is broken and broken lines are skipped. */
function parseRow(
  text: string,
  at: SourcePosition,
  strict: StrictJsonOptions,
  skipInvalid: boolean,
): Row | undefined {
  let value: unknown;
  try {
    value = parseStrictJson(text, at, strict);
  } catch (error) {
    if (skipInvalid && error instanceof FormatError) return undefined;
    throw error;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Row;
  if (skipInvalid) return undefined;
  const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
  throw formatErrorAt(at, `the line is ${what}, not a JSON object`);
}

export const jsonlWriter: FormatWriter = {
  format: 'jsonl',
  extension: 'jsonl',
  contentType: CONTENT_TYPES.jsonl,
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
