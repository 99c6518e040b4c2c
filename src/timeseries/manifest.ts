/**
 * The manifest: the one list of a store's published segments (`manifest.json`, written last and
 * atomically by compaction). A segment file it does not name is not part of the store.
 */
import { NotFoundError, TimeSeriesError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';

export interface SegmentEntry {
  key: string;
  variable: string;
  /** Window start, µs. */
  window: number;
  minMicros: number;
  maxMicros: number;
  rows: number;
  bytes: number;
}

export interface Manifest {
  version: 1;
  /** Every point with seq ≤ this is in the segments below (and may be dropped from the log). */
  compactedSeq: number;
  segments: SegmentEntry[];
  /** Retention cut-off (µs): points before it are deleted and never returned. */
  retainFrom?: number;
  updatedAt: string;
}

export const MANIFEST_KEY = 'manifest.json';

export const emptyManifest = (): Manifest => ({
  version: 1,
  compactedSeq: 0,
  segments: [],
  updatedAt: new Date(0).toISOString(),
});

/** The store's manifest, or an empty one if it has none yet. */
export async function readManifest(storage: Storage): Promise<Manifest> {
  let body: Buffer;
  try {
    body = await storage.get(MANIFEST_KEY);
  } catch (error) {
    if (error instanceof NotFoundError) return emptyManifest();
    throw error;
  }
  try {
    const m = JSON.parse(body.toString('utf8')) as Manifest;
    if (m.version !== 1 || !Array.isArray(m.segments)) throw new Error('unknown manifest version');
    return m;
  } catch (error) {
    throw new TimeSeriesError(
      `Time-series manifest ${storage.url}/${MANIFEST_KEY} is unreadable: ${(error as Error).message}`,
      { cause: error, context: { key: MANIFEST_KEY } },
    );
  }
}
