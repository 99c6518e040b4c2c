/**
 * JSON documents. Rows are written as one array (pretty, 2-space indent, by default; compact
 * with `pretty: false`). The reader streams the elements of a top-level array one at a time; a
 * top-level object is read whole and yielded as one row.
 */

import { FormatError } from '../errors.ts';
import { parseJson } from '../util/json-parse.ts';
import { ChunkBuffer, iterateRows, putEncoded, stringifyJson } from './common.ts';
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
}

/** Splits a top-level JSON array into element texts without parsing the whole document. */
async function* decodeJson(
  bytes: ByteSource,
  options: JsonReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const where = options.source ? ` ${options.source}` : '';
  const fail = (message: string, cause?: unknown) =>
    new FormatError(`JSON${where}: ${message}`, {
      ...(cause ? { cause } : {}),
      context: options.source ? { file: options.source } : {},
    });
  const decoder = new TextDecoder('utf-8');
  let mode: 'start' | 'array' | 'object' | 'done' = 'start';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element: string[] = [];
  let index = 0;
  const whole: string[] = [];

  const emit = (text: string): Row | undefined => {
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      value = parseJson(text);
    } catch (error) {
      throw fail(`element ${index} is not valid JSON: ${(error as Error).message}`, error);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw fail(`element ${index} is not an object`);
    }
    index++;
    return value as Row;
  };

  for await (const chunk of bytes) {
    if (options.signal?.aborted) throw options.signal.reason;
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (mode === 'start') {
        if (c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\uFEFF') continue;
        if (c === '[') {
          mode = 'array';
          start = i + 1;
          continue;
        }
        if (c === '{') {
          mode = 'object';
          start = i;
          break;
        }
        throw fail(`expected a top-level array or object, found ${JSON.stringify(c)}`);
      }
      if (mode !== 'array') break;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) {
          element.push(text.slice(start, i));
          const row = emit(element.join(''));
          element = [];
          if (row) yield row;
          mode = 'done';
          start = i + 1;
          break;
        }
        depth--;
      } else if (c === ',' && depth === 0) {
        element.push(text.slice(start, i));
        const row = emit(element.join(''));
        if (!row) throw fail(`empty element at position ${index}`);
        element = [];
        yield row;
        start = i + 1;
      }
    }
    if (mode === 'array') element.push(text.slice(start));
    else if (mode === 'object') whole.push(text.slice(start));
    else if (mode === 'done' && text.slice(start).trim() !== '')
      throw fail('unexpected data after the array');
  }
  const tail = decoder.decode();
  if (mode === 'object') {
    whole.push(tail);
    const row = emit(whole.join(''));
    if (row) yield row;
    return;
  }
  if (mode === 'array') throw fail('unexpected end of input (unterminated array)');
  if (mode === 'start') throw fail('empty document');
}

export const jsonWriter: FormatWriter<JsonWriteOptions> = {
  format: 'json',
  extension: 'json',
  contentType: 'application/json',
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
