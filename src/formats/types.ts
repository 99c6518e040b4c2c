import type { Storage } from '../storage/types.ts';
import type { ProgressEvent } from '../util/progress.ts';

/** One record: column name → value. */
export type Row = Record<string, unknown>;

/** Rows as an array, any iterable or an async iterable (streamed with bounded memory). */
export type Rows = Iterable<Row> | AsyncIterable<Row>;

/** Bytes to decode: chunks from a stream, a file or memory (strings are UTF-8). */
export type ByteSource = Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

export type FormatName = 'json' | 'jsonl' | 'csv' | 'parquet';

/** What long format operations report: the shared progress event, in rows or bytes. */
export type FormatProgressEvent = ProgressEvent<'rows' | 'bytes'>;

/** Options every writer accepts when writing to a Storage. */
export interface WriteToStorageOptions {
  /** Fail with AlreadyExistsError (E013) when the key exists (atomic on fs). @default false */
  ifNotExists?: boolean;
  /** User metadata stored with the object. */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
  /** Called every `progressEvery` rows and once at the end with `{operation:'write', unit:'rows'}`. */
  onProgress?: (event: FormatProgressEvent) => void;
}

export interface FormatWriteResult {
  key: string;
  format: FormatName;
  /** Rows written. */
  rows: number;
  /** Bytes stored. */
  size: number;
  etag: string;
  /** SHA-256 hex digest of the stored bytes. */
  sha256: string;
}

/**
 * Serialises rows in one format. `encode` streams bytes (bounded memory for any input size,
 * except where a format documents otherwise); `write` puts them atomically into a Storage.
 */
export interface FormatWriter<O extends object = object> {
  readonly format: FormatName;
  /** File extension without the dot. */
  readonly extension: string;
  readonly contentType: string;
  encode(rows: Rows, options?: O & { signal?: AbortSignal }): AsyncIterable<Uint8Array>;
  write(
    storage: Storage,
    key: string,
    rows: Rows,
    options?: O & WriteToStorageOptions,
  ): Promise<FormatWriteResult>;
}

/** Parses one format back into rows, streaming (a large file is never held in memory whole). */
export interface FormatReader<O extends object = object> {
  readonly format: FormatName;
  decode(bytes: ByteSource, options?: O & { signal?: AbortSignal }): AsyncIterable<Row>;
  read(storage: Storage, key: string, options?: O & { signal?: AbortSignal }): AsyncIterable<Row>;
}

/** A format's writer and reader together. */
export interface Format<W extends object = object, R extends object = object> {
  readonly name: FormatName;
  readonly writer: FormatWriter<W>;
  readonly reader: FormatReader<R>;
}
