import type { LineageLog } from '../lineage/index.ts';
import type { OpenStorageOptions } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import type { ColumnSchema } from './schema.ts';

export { storageOptionsFrom } from '../config/storage-options.ts';

/** Pipeline settings beyond `Config` (kept here so src/config stays shared and small). */
export interface PipelineOptions {
  /** The lake storage. @default openStorage(config.lakeRoot) */
  lake?: Storage;
  /** Storage options for s3:// lake roots and sync targets. @default from config (endpoint, region, keys) */
  storageOptions?: OpenStorageOptions;
  /** Schemas per source, winning over `data/raw/<source>/schema.yaml`. @default {} */
  schemas?: Record<string, ColumnSchema>;
  /** Where `run('upload')` copies the env's lake tree. @default s3://<s3Bucket>/ when s3Bucket is set */
  uploadUrl?: string;
  /** DuckDB threads. @default DuckDB's default */
  threads?: number;
  /** Runs returned by getStatus(). @default 20 */
  historyLimit?: number;
  /** First delay before retrying a transient failure (doubles each time, 3 attempts). @default 500 */
  retryDelayMs?: number;
  /**
   * Where lineage records go: a log to share (a pipeline run passes its own to each step), or
   * false to record nothing. @default a log on the lake, unless config `lineage` is false
   */
  lineage?: LineageLog | false;
}
