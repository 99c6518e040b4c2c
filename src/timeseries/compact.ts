/**
 * Compaction and retention: rewrite (variable, window) segments with new points merged in, then
 * publish the manifest (last, atomically), then delete what it no longer names. A run that fails
 * before its manifest is published (a full disk) deletes the segments it wrote, so failed runs
 * leave no orphans; a killed run's are removed when the store next opens (see orphans.ts).
 */
import pLimit from 'p-limit';
import { getLogger } from '../logging/logger.ts';
import { type ProgressFn, throttleProgress } from '../util/progress.ts';
import type { Columns, SeriesBuffer } from './columns.ts';
import { mergeColumns, sliceColumns } from './columns.ts';
import type { LeaseGuard } from './compaction-lease.ts';
import { compactedSeqOf, type Manifest, type SegmentEntry, withCompactedSeq } from './manifest.ts';
import type { StoreState } from './state.ts';

/** What a compaction or retention run reads, and the manifest it replaces once it has published one. */
export type CompactionState = Pick<StoreState, 'url' | 'options' | 'segments' | 'manifest'>;

/**
 * Runs `write` (which writes segments, recording each in `written`, then publishes a manifest);
 * if it fails, deletes the segments it wrote that the published manifest does not name. The
 * manifest is read back first: a put can fail after the new manifest became visible (the
 * directory fsync, an S3 timeout), and its segments must then stay.
 */
async function takingBackOnFailure<T>(
  store: CompactionState,
  write: (written: SegmentEntry[]) => Promise<T>,
): Promise<T> {
  const written: SegmentEntry[] = [];
  try {
    return await write(written);
  } catch (error) {
    if (written.length > 0) {
      try {
        const named = new Set((await store.segments.loadManifest()).segments.map((s) => s.key));
        await store.segments.delete(written.map((e) => e.key).filter((k) => !named.has(k)));
      } catch (cleanup) {
        getLogger().warn(
          { err: cleanup, store: store.url },
          'cannot delete the segments of a failed compaction; the next open of the store removes them',
        );
      }
    }
    throw error;
  }
}

/** Deletes segments a published manifest no longer names; the run succeeded, so a failure only leaves orphans. */
async function deleteReplaced(store: CompactionState, keys: string[]): Promise<void> {
  try {
    await store.segments.delete(keys);
  } catch (error) {
    getLogger().warn(
      { err: error, store: store.url },
      'cannot delete replaced segments; the next open of the store removes them',
    );
  }
}

/**
 * Segments of one window a compaction leaves as they are while it adds a segment of newer points
 * beside them; past this many it merges them all into one, so a read of a window opens few files
 * (and a window's points are rewritten about log8 of its compactions times, not at every one).
 */
const SEGMENTS_PER_WINDOW = 8;

/**
 * The segments of `variable` in window `w` (width `P` µs) that the new points `chunk` must be
 * merged with: those whose time range meets the chunk's (ties and order need resolving there).
 * Points later than every segment — the usual case — are written beside them, rewriting nothing,
 * until the window holds too many segments.
 */
function segmentsToMerge(
  segments: readonly SegmentEntry[],
  variable: string,
  w: number,
  P: number,
  chunk: Columns,
): SegmentEntry[] {
  const inWindow = segments.filter((s) => s.variable === variable && s.maxMicros >= w && s.minMicros < w + P);
  const lo = chunk.micros[0] as number;
  const hi = chunk.micros[chunk.length - 1] as number;
  const meeting = inWindow.filter((s) => s.maxMicros >= lo && s.minMicros <= hi);
  const merged = inWindow.length - meeting.length + 1 > SEGMENTS_PER_WINDOW ? inWindow : meeting;
  return merged.sort((a, b) => a.minMicros - b.minMicros);
}

/**
 * Windows written at once: DuckDB encodes one segment while another's file is fsynced or
 * uploaded, which a run of one window at a time spent waiting (a third of a compaction).
 */
const WINDOWS_AT_ONCE = 4;

/** Runs every window's write, several at once; all have settled before the first failure is thrown. */
async function allWindows(windows: (() => Promise<void>)[]): Promise<void> {
  const limit = pLimit(WINDOWS_AT_ONCE);
  const results = await Promise.allSettled(windows.map((w) => limit(w)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export interface CompactResult {
  /** Points written from buffers. */
  points: number;
  segmentsWritten: number;
  segmentsRemoved: number;
  compactedSeq: number;
}

/**
 * Merges `buffers` (writer `writerId`'s points up to `seq`) into the segments of `store.manifest`
 * and publishes the next manifest. Runs under the compaction lease with a manifest read under it,
 * so no other writer publishes in between; `guard` is checked just before publishing.
 */
export async function compactBuffers(
  store: CompactionState,
  buffers: Map<string, SeriesBuffer>,
  seq: number,
  writerId: string,
  guard: LeaseGuard,
  onProgress?: ProgressFn,
): Promise<CompactResult> {
  const keep = store.options.keepDuplicates;
  const P = store.options.partitionMs * 1000;
  const old = store.manifest;
  // Already in segments: a publish of this run whose answer was lost (a put retried after it
  // landed is refused as a lost race). Merging again would double them with keepDuplicates.
  if (seq > 0 && seq <= compactedSeqOf(old, writerId)) {
    let points = 0;
    for (const buf of buffers.values()) points += buf.length;
    return { points, segmentsWritten: 0, segmentsRemoved: 0, compactedSeq: compactedSeqOf(old, writerId) };
  }
  const removed: string[] = [];
  let points = 0;
  // Points of the windows written so far, against all buffered points.
  const report = throttleProgress(onProgress);
  let compacted = 0;
  const next = await takingBackOnFailure(store, async (written) => {
    const windows: (() => Promise<void>)[] = [];
    const created: SegmentEntry[] = [];
    for (const [variable, buf] of buffers) {
      if (buf.length === 0) continue;
      const cols = buf.sorted(keep);
      points += buf.length;
      for (let i = 0; i < cols.length; ) {
        const w = Math.floor((cols.micros[i] as number) / P) * P;
        const chunk = sliceColumns(cols, w, w + P);
        i += chunk.length;
        windows.push(async () => {
          const overlapping = segmentsToMerge(old.segments, variable, w, P, chunk);
          const parts: Columns[] = [];
          for (const s of overlapping) parts.push(await store.segments.read(s));
          let merged = mergeColumns([...parts, chunk], keep);
          if (old.retainFrom !== undefined)
            merged = sliceColumns(merged, old.retainFrom, Number.MAX_SAFE_INTEGER);
          if (merged.length > 0) {
            const entry = await store.segments.write(variable, w, merged);
            written.push(entry);
            created.push(entry);
          }
          removed.push(...overlapping.map((s) => s.key));
          compacted += chunk.length;
          report?.({ operation: 'ts-compact', done: compacted, total: points, unit: 'points' });
        });
      }
    }
    report?.({ operation: 'ts-compact', done: 0, total: points, unit: 'points' });
    await allWindows(windows);
    const gone = new Set(removed);
    // New entries in (variable, window) order, whichever finished first: the manifest is the same
    // for the same points.
    created.sort((a, b) =>
      a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : a.window - b.window,
    );
    const segments = old.segments.filter((s) => !gone.has(s.key)).concat(created);
    const next: Manifest = withCompactedSeq({ ...old, segments }, writerId, seq);
    if (
      written.length > 0 ||
      removed.length > 0 ||
      compactedSeqOf(next, writerId) !== compactedSeqOf(old, writerId)
    ) {
      await guard.assertHeld();
      await store.segments.publish(next, old);
      store.manifest = next;
    }
    return { next, written: written.length };
  });
  await deleteReplaced(store, removed);
  return {
    points,
    segmentsWritten: next.written,
    segmentsRemoved: removed.length,
    compactedSeq: compactedSeqOf(next.next, writerId),
  };
}

export interface RetentionResult {
  cutoff: string;
  segmentsRemoved: number;
  segmentsRewritten: number;
  pointsRemoved: number;
}

/** Deletes points older than `cutoff` µs: whole segments dropped, straddling ones rewritten. */
export async function applyRetentionTo(
  store: CompactionState,
  cutoff: number,
  guard: LeaseGuard,
): Promise<Omit<RetentionResult, 'cutoff'>> {
  const old = store.manifest;
  const removed: string[] = [];
  let rewritten = 0;
  let pointsRemoved = 0;
  await takingBackOnFailure(store, async (written) => {
    const segments: SegmentEntry[] = [];
    for (const s of old.segments) {
      if (s.minMicros >= cutoff) {
        segments.push(s);
        continue;
      }
      removed.push(s.key);
      if (s.maxMicros < cutoff) {
        pointsRemoved += s.rows;
        continue;
      }
      const cols = sliceColumns(await store.segments.read(s), cutoff, Number.MAX_SAFE_INTEGER);
      pointsRemoved += s.rows - cols.length;
      const entry = await store.segments.write(s.variable, s.window, cols);
      written.push(entry);
      segments.push(entry);
      rewritten++;
    }
    const next: Manifest = { ...old, segments, retainFrom: Math.max(cutoff, old.retainFrom ?? cutoff) };
    await guard.assertHeld();
    await store.segments.publish(next, old);
    store.manifest = next;
  });
  await deleteReplaced(store, removed);
  return { segmentsRemoved: removed.length - rewritten, segmentsRewritten: rewritten, pointsRemoved };
}
