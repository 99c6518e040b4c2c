/** Helpers shared by the format drivers: row iteration, JSON value mapping, storage writes. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FormatError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import type { FormatName, FormatWriteResult, Row, Rows, WriteToStorageOptions } from './types.ts';

/** Report progress every this many rows. */
export const PROGRESS_EVERY = 10_000;

export async function* iterateRows(rows: Rows, signal?: AbortSignal): AsyncIterable<Row> {
  let index = 0;
  for await (const row of rows as AsyncIterable<Row>) {
    if (signal?.aborted) throw signal.reason;
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new FormatError(
        `Row ${index} is not an object (got ${row === null ? 'null' : Array.isArray(row) ? 'array' : typeof row}); rows must be plain objects`,
        { context: { row: index } },
      );
    }
    index++;
    yield row;
  }
}

// JSON.rawJSON (Node ≥ 21) writes its text as is; TypeScript's ES2024 lib does not declare it yet.
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * JSON.stringify replacer that keeps every number's value: a BigInt is written with all its
 * digits as a JSON number (JSON.stringify throws on it; a string would change its type), and -0
 * as `-0.0` (JSON.stringify writes `0`, and readers that type `-0` as an integer read 0).
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return rawJSON(value.toString());
  if (value === 0 && 1 / value < 0) return rawJSON('-0.0');
  return value;
}

// Calls left that go straight to the replacer: rows of one stream are alike, so after a BigInt
// (DuckDB BIGINT columns) the next rows almost surely have one too, and a throw per row cost 5×
// the replacer. The fast path is tried again after this many calls.
let replacerCalls = 0;
const REPLACER_STREAK = 1024;

export function stringifyJson(value: unknown, indent?: number): string {
  let text: string | undefined;
  if (replacerCalls > 0) {
    replacerCalls--;
    text = JSON.stringify(value, jsonReplacer, indent);
  } else {
    try {
      // Without a replacer V8 keeps its fast serialiser; only a BigInt makes it throw, and then
      // the replacer (identical for everything else) runs. Other errors (cycles) throw again below.
      text = JSON.stringify(value, null, indent);
      // -0 does not throw but comes out as 0; the scan costs a few percent of the stringify.
      if (hasNegativeZero(value)) text = JSON.stringify(value, jsonReplacer, indent);
    } catch {
      text = JSON.stringify(value, jsonReplacer, indent);
      replacerCalls = REPLACER_STREAK;
    }
  }
  // JSON.stringify(undefined) is undefined; store null so the file stays valid JSON.
  return text ?? 'null';
}

/** Whether a -0 is among the values JSON.stringify would write (a loop, not recursion: depth is the caller's). */
function hasNegativeZero(value: unknown): boolean {
  if (typeof value === 'number') return value === 0 && 1 / value < 0;
  if (value === null || typeof value !== 'object') return false;
  const stack: object[] = [value];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    if (v instanceof Date) continue;
    const items: unknown[] | Record<string, unknown> = v as Record<string, unknown>;
    for (const k in items) {
      const x = (items as Record<string, unknown>)[k];
      if (typeof x === 'number') {
        if (x === 0 && 1 / x < 0) return true;
      } else if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
  return false;
}

/** Counts rows as they pass and reports progress. */
export async function* countingRows(
  rows: Rows,
  counter: { rows: number },
  options: WriteToStorageOptions,
): AsyncIterable<Row> {
  for await (const row of iterateRows(rows, options.signal)) {
    counter.rows++;
    if (options.onProgress && counter.rows % PROGRESS_EVERY === 0) {
      options.onProgress({ operation: 'write', done: counter.rows, unit: 'rows' });
    }
    yield row;
  }
}

/** Puts encoded bytes atomically into `storage`, hashing them on the way. */
export async function putEncoded(
  storage: Storage,
  key: string,
  format: FormatName,
  contentType: string,
  encode: (rows: Rows) => AsyncIterable<Uint8Array>,
  rows: Rows,
  options: WriteToStorageOptions = {},
): Promise<FormatWriteResult> {
  const counter = { rows: 0 };
  const hash = createHash('sha256');
  let size = 0;
  async function* tap(): AsyncIterable<Uint8Array> {
    // Arrays pass through as arrays so formats can take their in-memory fast paths.
    const input = Array.isArray(rows) ? rows : countingRows(rows, counter, options);
    for await (const chunk of encode(input)) {
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
  }
  const result = await storage.put(key, Readable.from(tap(), { objectMode: false }), {
    // On disk a content type costs a sidecar file per object and the extension says it anyway.
    ...(storage.capabilities.localFiles ? {} : { contentType }),
    ...(options.ifNotExists ? { ifNotExists: true } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (Array.isArray(rows)) counter.rows = rows.length;
  options.onProgress?.({ operation: 'write', done: counter.rows, total: counter.rows, unit: 'rows' });
  return { key: result.key, format, rows: counter.rows, size, etag: result.etag, sha256: hash.digest('hex') };
}

/** Batches small strings into chunks of about `size` bytes, so streams are not one write per row. */
export class ChunkBuffer {
  private parts: string[] = [];
  private length = 0;
  private readonly size: number;

  constructor(size = 64 * 1024) {
    this.size = size;
  }

  /** Adds text; returns a chunk when the buffer is full. */
  push(text: string): Uint8Array | undefined {
    this.parts.push(text);
    this.length += text.length;
    return this.length >= this.size ? this.flush() : undefined;
  }

  flush(): Uint8Array | undefined {
    if (this.parts.length === 0) return undefined;
    const out = Buffer.from(this.parts.join(''));
    this.parts = [];
    this.length = 0;
    return out;
  }
}
