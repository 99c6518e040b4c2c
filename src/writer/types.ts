import type { EncryptOptions } from '../crypto/age.ts';
import type { ParquetCompression } from '../formats/parquet.ts';
import type { Row } from '../formats/types.ts';
import type { LineageInput, OpenLineageTarget } from '../lineage/index.ts';
import type { Logger } from '../logging/logger.ts';
import type { OpenStorageOptions } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';

/** Progress of a write: rows for tables, bytes for files. */
export interface WriterProgressEvent {
  operation: string;
  done: number;
  total?: number;
  unit: 'rows' | 'bytes' | 'files';
}

/**
 * age encryption for outputs: recipients (`age1…`) or a passphrase; `identities` (or the
 * passphrase) let the writer read its own encrypted files back (appendToJsonArray,
 * mergeJsonObjects, readOutput).
 */
export interface WriterEncryption extends EncryptOptions {
  /** Secret keys (`AGE-SECRET-KEY-1…`) for reading encrypted outputs back. @default [] */
  identities?: readonly string[];
}

export interface DataWriterOptions {
  /** Local path or storage URL (`s3://bucket/prefix`, `file://…`, `memory://…`) of the task directory. */
  taskDir: string | Storage;
  /** Options for opening `taskDir` when it is a URL (S3 endpoint, credentials, …). */
  storageOptions?: OpenStorageOptions;
  /** @default the sluice logger (`getLogger()`) */
  logger?: Logger;
  /** Called with progress events; they are also emitted as `'progress'` events. */
  progress?: (event: WriterProgressEvent) => void;
  /** Encryption applied to every output unless a call passes `encryption: false`. @default none */
  encryption?: WriterEncryption;
  /**
   * The writer's private DuckDB (Parquet, partitions, queries). It spills to a temp directory
   * beyond the memory limit, which keeps streaming 5M rows to Parquet under ~330 MB RSS.
   * @default { threads: 1, memoryLimit: '96MB' } (DuckDB spills beyond it; a 5 M-row stream peaks near 300 MB RSS; raise it for very wide or many-partition outputs)
   */
  duckdb?: { threads?: number; memoryLimit?: string };
  /** Create output/, dictionaries/, logs/, visualizations/, metrics/ on local disk. @default true */
  createFolders?: boolean;
  /** Wait this long for the lock of appendToJsonArray/mergeJsonObjects. @default 30000 */
  lockTimeoutMs?: number;
  /**
   * Record lineage (docs/lineage.md): every file written gets an intent before it is visible and
   * a commit (sha256, size, rows) after, in `<taskDir>/_sluice/lineage/`.
   * @default the config's `lineage` (SLUICE_LINEAGE; `0`, `false`, `off`, `no` turn it off), else true
   */
  lineage?: boolean;
  /**
   * Where each call's OpenLineage START and COMPLETE/FAIL events go (only while lineage is on);
   * `false`: nowhere.
   * @default the config's openlineageUrl / openlineageFile (SLUICE_OPENLINEAGE_URL, SLUICE_OPENLINEAGE_FILE)
   */
  openLineage?: OpenLineageTarget | false;
}

export type DataframeFormat = 'csv' | 'parquet' | 'json' | 'jsonl';

/** A DuckDB query over files (`SELECT … FROM read_csv('…')`), copied straight to the output. */
export interface SqlTable {
  sql: string;
  /** Turns a DuckDB error from running `sql` into one in the user's words (e.g. naming their file). */
  describeError?: (error: unknown) => Error | undefined | Promise<Error | undefined>;
  /** A query to try after `error` (e.g. with a raised line limit), or undefined; asked at most twice. */
  retrySql?: (error: unknown) => Promise<string | undefined>;
  /**
   * The size in bytes of what `sql` reads (a CSV or Parquet file): with it, a write reports
   * progress while DuckDB runs the query, as bytes of input read.
   */
  inputBytes?: number;
}

/** Rows in memory, an (async) iterable of rows streamed with bounded memory, or a DuckDB query. */
export type Table = readonly Row[] | Iterable<Row> | AsyncIterable<Row> | SqlTable;

export interface CommonWriteOptions {
  /** Folder inside the task directory. */
  subdir?: string;
  /** Append a UTC millisecond stamp to the name (`name_20260123T101530123Z`). @default false */
  timestampInName?: boolean;
  /** Overrides the writer's encryption for this call; `false` writes plaintext. */
  encryption?: WriterEncryption | false;
  /** Replace an existing file; false raises DataWriteError (cause AlreadyExistsError). @default true */
  overwrite?: boolean;
  signal?: AbortSignal;
  /**
   * What the output was made from, for its lineage record (a file read, with its sha256; an
   * object with its ETag). A promise is awaited just before the output's intent is recorded, so
   * an input can be hashed while the table is staged.
   * @default the calling function and the sha256 of its source file (a `model` input)
   */
  inputs?: readonly LineageInput[] | Promise<readonly LineageInput[]>;
}

export interface WriteDataframeOptions extends CommonWriteOptions {
  /** @default 'csv' */
  format?: DataframeFormat;
  /** Hive-style partitions `name/col=value/part-N.ext` (one folder level per column). */
  partitionBy?: string | readonly string[];
  /** Parquet: codec inside the file (@default 'zstd'). csv/json/jsonl: 'gzip' writes `name.ext.gz`. @default none */
  compression?: ParquetCompression;
  /** CSV delimiter. @default ',' */
  delimiter?: string;
  /** JSON output indented. @default true */
  pretty?: boolean;
  /** CSV columns in order (others dropped); saves a pass over streamed input. @default union of row keys */
  columns?: readonly string[];
  /** Parquet column types (`{ id: 'BIGINT', score: 'DOUBLE' }`). @default inferred by DuckDB from all rows */
  schema?: Record<string, string>;
}

export interface WriteJsonOptions extends CommonWriteOptions {
  /** Indented (true) or compact (false). @default true */
  pretty?: boolean;
}

export interface WriteVisualizationOptions extends CommonWriteOptions {
  /** @default 'png' */
  format?: 'svg' | 'png';
  /** PNG pixel density. @default 1 */
  scale?: number;
}

export interface WriteDictionaryOptions extends CommonWriteOptions {
  /** @default 'json' */
  format?: 'json' | 'csv' | 'parquet';
  pretty?: boolean;
}

export interface WriteMetricsOptions extends CommonWriteOptions {
  /** @default true (metrics are usually one file per run) */
  timestampInName?: boolean;
  pretty?: boolean;
  /** The operation that produced the metrics. @default taken from the caller's stack frame */
  operation?: { module: string; function: string };
}

export interface AppendJsonArrayOptions extends Omit<CommonWriteOptions, 'timestampInName' | 'overwrite'> {
  /** Create `[item]` when the file does not exist; false raises. @default true */
  createIfMissing?: boolean;
  pretty?: boolean;
}

export interface MergeJsonOptions extends Omit<CommonWriteOptions, 'timestampInName' | 'overwrite'> {
  /** Merge nested objects key by key (true) or replace top-level keys whole (false). @default true */
  recursiveMerge?: boolean;
  /** On conflicts the new value wins (true) or the stored one stays (false). @default true */
  overwriteExisting?: boolean;
  /** @default true */
  createIfMissing?: boolean;
  pretty?: boolean;
}

export interface WrittenFile {
  /** Key inside the task directory. */
  path: string;
  sizeBytes: number;
  /** SHA-256 hex of the bytes as stored (the ciphertext when encrypted). */
  sha256: string;
  rows?: number;
}

export interface WriterResult {
  /** Key of the file (or of the partition folder) inside the task directory. */
  path: string;
  /** Full location: a local path or `s3://…` URL. */
  location: string;
  sizeBytes: number;
  /** When the write finished (ISO 8601, UTC). */
  timestamp: string;
  format: string;
  /** SHA-256 hex of the stored bytes; for partitioned output, of the sorted `sha256  path` list. */
  sha256: string;
  rows?: number;
  encrypted: boolean;
  /** Every file of a partitioned output. */
  files?: WrittenFile[];
}
