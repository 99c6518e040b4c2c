/**
 * JSON documents. Rows are written as one array (pretty, 2-space indent, by default; compact
 * with `pretty: false`). The reader streams the elements of a top-level array one at a time; a
 * top-level object is read whole and yielded as one row. Reading is strict RFC 8259 with a depth
 * limit; see formats/json-table.ts for the rules.
 */

import { CONTENT_TYPES } from '../storage/content-types.ts';
import { ChunkBuffer, iterateRows, putEncoded, stringifyJson } from './common.ts';
import { JsonTableScanner } from './json-table.ts';
import type { ByteSource, Format, FormatReader, FormatWriter, Row, Rows } from './types.ts';

export interface JsonWriteOptions {
  /** Indented output (true) or one compact line (false). @default true */
  pretty?: boolean;
  /** Spaces per level when pretty. @default 2 */
  indent?: number;
}

function resolveIndent(options: JsonWriteOptions): number | undefined {
  if (options.pretty === false) return undefined;
  const indent = options.indent ?? 2;
  if (!Number.isInteger(indent) || indent < 0 || indent > 10) {
    throw new RangeError(`json: indent must be a whole number 0–10, got ${indent}`);
  }
  return indent;
}

async function* encodeJson(
  rows: Rows,
  options: JsonWriteOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Uint8Array> {
  const indent = resolveIndent(options);
  const pad = indent ? ' '.repeat(indent) : '';
  const buffer = new ChunkBuffer();
  let first = true;
  buffer.push('[');
  for await (const row of iterateRows(rows, options.signal)) {
    const body = stringifyJson(row, indent);
    const text = indent ? `\n${pad}${body.replaceAll('\n', `\n${pad}`)}` : body;
    const chunk = buffer.push(first ? text : `,${text}`);
    first = false;
    if (chunk) yield chunk;
  }
  buffer.push(indent && !first ? '\n]\n' : indent ? ']\n' : ']');
  const last = buffer.flush();
  if (last) yield last;
}

export interface JsonReadOptions {
  /** Name used in error messages. */
  source?: string;
  /** Deepest nesting of arrays and objects accepted, the top-level array included. @default 512 */
  maxDepth?: number;
}

/** Rows of a JSON table document, streamed through the strict scanner (formats/json-table.ts). */
async function* decodeJson(
  bytes: ByteSource,
  options: JsonReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const scanner = new JsonTableScanner({ source: options.source, maxDepth: options.maxDepth });
  for await (const chunk of bytes) {
    options.signal?.throwIfAborted();
    yield* scanner.push(chunk);
  }
  yield* scanner.end();
}

export const jsonWriter: FormatWriter<JsonWriteOptions> = {
  format: 'json',
  extension: 'json',
  contentType: CONTENT_TYPES.json,
  encode: encodeJson,
  write(storage, key, rows, options = {}) {
    return putEncoded(storage, key, 'json', this.contentType, (r) => encodeJson(r, options), rows, options);
  },
};

export const jsonReader: FormatReader<JsonReadOptions> = {
  format: 'json',
  decode: decodeJson,
  async *read(storage, key, options = {}) {
    const stream = await storage.getStream(key, options.signal ? { signal: options.signal } : {});
    yield* decodeJson(stream, { source: key, ...options });
  },
};

export const json: Format<JsonWriteOptions, JsonReadOptions> = {
  name: 'json',
  writer: jsonWriter,
  reader: jsonReader,
};
