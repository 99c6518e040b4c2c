/**
 * The manifest: the one list of a store's published segments (`manifest.json`, written last and
 * atomically by compaction). A segment file it does not name is not part of the store.
 */
import { isTransient, NotFoundError, TimeSeriesError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { decodeUtf8 } from '../util/utf8.ts';
import { decodeManifest } from './manifest-codec.ts';

/**
 * One variable's points in one segment file. A file of the first layout holds one variable (all
 * its rows); a file of many variables holds one run of rows per variable, sorted by variable, and
 * its entries share the key (manifest-codec.ts stores them compactly).
 */
export interface SegmentEntry {
  key: string;
  variable: string;
  /** Window start, µs. */
  window: number;
  minMicros: number;
  maxMicros: number;
  rows: number;
  /** The file's size, or for a run of a file of many variables its share by rows. */
  bytes: number;
  /** A run of a file of many variables: its first row in the file (rows [rowStart, rowStart + rows)). */
  rowStart?: number;
  /** A run of a file of many variables: the whole file (shared by its entries). */
  file?: SegmentFileInfo;
  /**
   * The segment's last point (at `maxMicros`), so `latest()` answers without opening the file:
   * DuckDB takes ≈ 5 ms to open any Parquet file, 50 s for the latest of 10,000 variables.
   * Left out when its string value and metadata are long (then the file is read), and from the
   * stored manifest for runs of files of many variables (latest() reads all the file's runs' last
   * rows in one scan instead).
   */
  last?: LastPoint;
}

/** A segment file of many variables: rows (its runs no entry names any more included) and size. */
export interface SegmentFileInfo {
  rows: number;
  bytes: number;
}

/** Where an entry's decoded rows are cached: keys are never reused, and a file has one run per variable. */
export function entryId(e: SegmentEntry): string {
  return e.rowStart === undefined ? e.key : `${e.key}#${e.rowStart}`;
}

/** A point's value and metadata as a segment stores them (codec.ts types). */
export interface LastPoint {
  type: number;
  num: number;
  str?: string;
  meta?: string;
}

export interface Manifest {
  /** 1, or 2 once it names files of many variables (set when written, manifest-codec.ts). */
  version: 1 | 2;
  /**
   * Every point of the store's first writer (the log folder itself, as stores had before several
   * writers) with seq ≤ this is in the segments below (and may be dropped from its log).
   */
  compactedSeq: number;
  /**
   * The same per writer: each writer numbers its own log, so what is compacted is kept per writer
   * id (writer-slots.ts). A writer not named here has nothing compacted yet.
   */
  writers?: Record<string, number>;
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

/** The id of the store's first writer: the log folder itself (see `compactedSeq`). */
export const FIRST_WRITER = '';

/** The highest seq of writer `id` that the segments hold. */
export function compactedSeqOf(manifest: Manifest, id: string): number {
  return id === FIRST_WRITER ? manifest.compactedSeq : (manifest.writers?.[id] ?? 0);
}

/** `manifest` with writer `id`'s compacted seq raised to `seq` (never lowered). */
export function withCompactedSeq(manifest: Manifest, id: string, seq: number): Manifest {
  const now = compactedSeqOf(manifest, id);
  if (seq <= now) return manifest;
  if (id === FIRST_WRITER) return { ...manifest, compactedSeq: seq };
  return { ...manifest, writers: { ...manifest.writers, [id]: seq } };
}

/**
 * The version each manifest object was read as or published at: its ETag, or null when the store
 * had no manifest (the empty one stands in). Manifests are replaced, never edited, so an object's
 * version never goes stale; one not read or published here (a placeholder) has none.
 */
const versions = new WeakMap<Manifest, string | null>();

/** The ETag `manifest` was read as or published at; null: read when there was none; undefined: unknown. */
export function manifestEtag(manifest: Manifest): string | null | undefined {
  return versions.get(manifest);
}

/**
 * Records that `manifest` is stored at `etag` as `text` (after publishing it through `storage`):
 * the next read through `storage` (the next compaction's, under the lease) is then a stat, not a
 * parse of what was just written — at 10,000 variables, 50,000–80,000 entries decoded at every
 * compaction (11 MiB of objects per million points, kept long enough to reach V8's old generation).
 */
export function rememberPublished(storage: Storage, manifest: Manifest, etag: string, text: string): void {
  versions.set(manifest, etag);
  lastRead.set(storage, { etag, text, manifest });
}

/**
 * A publish found the manifest changed since it was read under the lease: another writer
 * published first. The run publishes nothing and is done again on the new manifest (lost-race.ts).
 */
export class ManifestRaceError extends TimeSeriesError {}

/** Reads of a manifest that came back torn or broke are tried this many times in all. */
const READ_ATTEMPTS = 5;

/**
 * The store's manifest, or an empty one if it has none yet. A body that does not parse or a read
 * that breaks is transient — a server that writes objects in place (s3rver) can hand out half of
 * one being replaced, and a connection can reset — so it is read again, with backoff, before it
 * counts as unreadable.
 */
export async function readManifest(storage: Storage): Promise<Manifest> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readManifestOnce(storage);
    } catch (error) {
      if (error instanceof NotFoundError || attempt >= READ_ATTEMPTS || !isTransientRead(error)) throw error;
      await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
    }
  }
}

function isTransientRead(error: unknown): boolean {
  return error instanceof TornManifestError || isTransient(error);
}

class TornManifestError extends TimeSeriesError {}

async function readManifestOnce(storage: Storage): Promise<Manifest> {
  // The version read last time, unchanged (a reader refreshes before every query): its parsed
  // object is handed out again, its bytes not even read. An ETag changes whenever the content is
  // replaced (Storage's contract), so a stat (a HEAD on S3) decides it; latest() of 10,000
  // variables re-read a 0.3–3 MB manifest 10,000 times before.
  const known = lastRead.get(storage);
  if (known) {
    const st = await storage.stat(MANIFEST_KEY).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (st?.etag === known.etag) return known.manifest;
  }
  let body: Buffer;
  let etag: string;
  try {
    ({ body, etag } = await storage.getWithEtag(MANIFEST_KEY));
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    const none = emptyManifest();
    versions.set(none, null);
    return none;
  }
  const text = decodeUtf8(body);
  // Changed between the stat and the read, and back (or the stat failed over): still the same bytes.
  if (known && known.etag === etag && known.text === text) return known.manifest;
  let parsed: unknown;
  try {
    if (text === undefined) throw new SyntaxError('it is not UTF-8');
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TornManifestError(
      `Time-series manifest ${storage.url}/${MANIFEST_KEY} is unreadable: ${(error as Error).message}`,
      { cause: error, context: { key: MANIFEST_KEY } },
    );
  }
  let m: Manifest;
  try {
    m = decodeManifest(parsed);
  } catch (error) {
    throw new TimeSeriesError(
      `Time-series manifest ${storage.url}/${MANIFEST_KEY} is unreadable: ${(error as Error).message}`,
      { cause: error, context: { key: MANIFEST_KEY } },
    );
  }
  versions.set(m, etag);
  lastRead.set(storage, { etag, text, manifest: m });
  return m;
}

/** The last manifest read or published through each storage, with its version and text. */
const lastRead = new WeakMap<Storage, { etag: string; text: string; manifest: Manifest }>();
