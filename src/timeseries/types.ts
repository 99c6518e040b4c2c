import type { LineageInput } from '../lineage/record.ts';
import type { OpenStorageOptions } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import type { ProgressFn } from '../util/progress.ts';

export type PointValue = number | string | boolean | null;
/** Date, ISO 8601 string (UTC unless an offset is given), epoch ms or µs number, or µs bigint. */
export type TimestampInput = Date | string | number | bigint;
export type Metadata = Record<string, unknown>;

export interface DataPointInput {
  variable: string;
  timestamp: TimestampInput;
  value: PointValue;
  metadata?: Metadata | null;
}

/** What an append may say besides its points. */
export interface AppendOptions {
  /**
   * Where the points came from (an object version, an HTTP request): the lineage records of the
   * segments they are compacted into list these as inputs (docs/lineage.md), recorded in the
   * background (the append does not wait for it).
   */
  source?: readonly LineageInput[];
}

/** A point as queries return it. */
export interface StoredPoint {
  variable: string;
  /** ISO 8601 UTC with microseconds. */
  timestamp: string;
  /** Microseconds since the epoch (UTC). */
  micros: number;
  value: PointValue;
  metadata?: Metadata;
}

export type { ProgressEvent } from '../util/progress.ts';

export interface TimeSeriesStoreOptions {
  /** 'fsync': acknowledged writes survive power loss; 'os': they survive a process crash only. @default 'fsync' */
  durability?: 'fsync' | 'os';
  /**
   * Longest a write waits for others to share its log write and fsync, in ms. Writes that arrive
   * while an fsync is in flight always join the next one, so 0 already groups concurrent callers.
   * @default 0 (next event-loop turn)
   */
  groupCommitMs?: number;
  /** A pending group is written at once when it reaches this many bytes. @default 4 MiB */
  groupCommitBytes?: number;
  /** Where the write-ahead log lives (always local disk). @default `<store>/wal` for a local store, `~/.cache/sluice/ts-wal/<hash>` for S3 */
  walDir?: string;
  /** Rotate the log to a new file at this size. @default 64 MiB */
  walSegmentBytes?: number;
  /** Open for queries only: no lock, no log writes; sees the manifest and (optionally) the log tail. @default false */
  readOnly?: boolean;
  /**
   * Create the store when it does not exist yet. With false (and always with readOnly), a store
   * with neither a manifest nor a write-ahead log is NotFoundError (E011) and nothing is created.
   * @default true
   */
  create?: boolean;
  /** Read-only opens also read the writer's log so unflushed-to-Parquet points are visible. @default true */
  readWalTail?: boolean;
  /** Keep every point with the same variable and timestamp instead of the last one written. @default false */
  keepDuplicates?: boolean;
  /** Compact in the background every this many ms (0 disables). @default 60000 */
  compactIntervalMs?: number;
  /** Compact in the background once this many points are buffered (0 disables). @default 1000000 */
  compactPoints?: number;
  /**
   * Compact in the background once the points buffered in memory take this many bytes (29 per
   * point plus string values); appends wait while this much is buffered and a compaction is still
   * writing the set before it, so buffered points never take much more than twice this (0: no
   * limit, no waiting). @default 16777216 (16 MiB, about 580,000 numeric points)
   */
  compactBytes?: number;
  /** Width of a Parquet partition's time window, in ms. @default 86400000 (1 day) */
  partitionMs?: number;
  /** Options for opening the segment storage (S3 endpoint, credentials, …). */
  storage?: OpenStorageOptions;
  /** An already-open Storage for segments (the URL then only names the store). */
  storageInstance?: Storage;
  /**
   * A Redis URL (`redis://host:6379/0`) holding the compaction lease, for stores written by
   * processes on several hosts (or with separate home folders) — on S3 that is what lets several
   * writers share one store. Writers of one local store, or of one S3 store from one home folder,
   * share a lock file instead and need no lease. @default $SLUICE_TS_LEASE
   */
  lease?: string;
  /**
   * Record lineage (docs/lineage.md): each segment file gets a record in `<store>/_sluice/lineage/`
   * listing the sources of its points (appends' `source`) and the segments it merged.
   * @default SLUICE_LINEAGE (on)
   */
  lineage?: boolean;
  /**
   * Progress of reading the write-ahead log back into memory: at a writer's open, and at each
   * refresh of a read-only open (before every query). Events `ts-replay`, in bytes of the log
   * files read against their size on disk; a log of many small records takes seconds.
   */
  onReplayProgress?: ProgressFn;
}

export interface QueryOptions {
  from?: TimestampInput;
  /** Exclusive upper bound. */
  to?: TimestampInput;
  limit?: number;
  /** @default 'asc' */
  order?: 'asc' | 'desc';
}

export type AggregateFn = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'first' | 'last';

export interface AggregateOptions {
  from?: TimestampInput;
  to?: TimestampInput;
  /** Bucket width: '1m', '30s', '1h' or ms. */
  every: string | number;
  /** @default 'avg' */
  fn?: AggregateFn;
}

export interface AggregateRow {
  variable: string;
  /** Bucket start, ISO UTC. */
  bucket: string;
  bucketMicros: number;
  value: PointValue;
  count: number;
}

export interface StoreStats {
  variables: number;
  bufferedPoints: number;
  segmentPoints: number;
  segments: number;
  segmentBytes: number;
  /**
   * Bytes of the write-ahead log's records not yet dropped by compaction — not the files' size on
   * disk, which includes zero-filled preallocated space. A writer counts its own log; a read-only
   * open (`sluice ts stats`) counts every writer's log as it last read them.
   */
  walBytes: number;
  /** Log files, counted as walBytes is. */
  walFiles: number;
  lastSeq: number;
  compactedSeq: number;
  minTimestamp?: string;
  maxTimestamp?: string;
}
