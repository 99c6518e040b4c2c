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

/** JSON.stringify replacer: BigInt becomes a number when exact, else its decimal string. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
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
    } catch {
      text = JSON.stringify(value, jsonReplacer, indent);
      replacerCalls = REPLACER_STREAK;
    }
  }
  // JSON.stringify(undefined) is undefined; store null so the file stays valid JSON.
  return text ?? 'null';
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
