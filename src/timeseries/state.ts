/**
 * The state the parts of one open store share, as an explicit type. The facade (store.ts) makes
 * it and hands each part (point-log.ts, maintenance.ts, compact.ts, series-reader.ts, io.ts) the
 * slice it needs, so no part reaches into the facade or into another part's members.
 */
import type { LazyEngine } from '../engine/duckdb.ts';
import type { Storage } from '../storage/types.ts';
import type { PointBuffers } from './buffers.ts';
import type { Manifest } from './manifest.ts';
import type { Resolved } from './options.ts';
import type { StoreLineage } from './segment-lineage.ts';
import type { SegmentFiles } from './segments.ts';

export interface StoreState {
  /** The path or `s3://` URL the store was opened at (for messages and logs). */
  readonly url: string;
  readonly options: Resolved;
  readonly storage: Storage;
  /** DuckDB, started on first use (queries the decoded cache cannot answer, merges, exports). */
  readonly engine: LazyEngine;
  readonly segments: SegmentFiles;
  /**
   * The published manifest. Replaced, never edited in place (by a writer's open and a reader's
   * refresh after reading it, by compaction and retention after publishing a new one): the
   * reader keeps an index per manifest object and rebuilds it when the object changes.
   */
  manifest: Manifest;
  /** Points in the log not yet compacted into segments. */
  readonly buffers: PointBuffers;
  /** Lineage records of segments and the sources of points (undefined: off, or read-only). */
  lineage?: StoreLineage;
}
