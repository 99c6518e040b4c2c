/**
 * Compaction and retention: rewrite (variable, window) segments with new points merged in, then
 * publish the manifest (last, atomically), then delete what it no longer names.
 */
import type { Columns, SeriesBuffer } from './columns.ts';
import { mergeColumns, sliceColumns } from './columns.ts';
import type { Manifest, SegmentEntry } from './segments.ts';
import type { TimeSeriesStore } from './store.ts';

export interface CompactResult {
  /** Points written from buffers. */
  points: number;
  segmentsWritten: number;
  segmentsRemoved: number;
  compactedSeq: number;
}

export async function compactBuffers(
  store: TimeSeriesStore,
  buffers: Map<string, SeriesBuffer>,
  seq: number,
): Promise<CompactResult> {
  const keep = store.options.keepDuplicates;
  const P = store.options.partitionMs * 1000;
  const old = store.manifest;
  let segments = old.segments.slice();
  const removed: string[] = [];
  let points = 0;
  let written = 0;
  for (const [variable, buf] of buffers) {
    if (buf.length === 0) continue;
    const cols = buf.sorted(keep);
    points += buf.length;
    for (let i = 0; i < cols.length; ) {
      const w = Math.floor((cols.micros[i] as number) / P) * P;
      const chunk = sliceColumns(cols, w, w + P);
      i += chunk.length;
      // Segments of this variable overlapping the window (one, unless the window size changed).
      const overlapping = segments.filter(
        (s) => s.variable === variable && s.maxMicros >= w && s.minMicros < w + P,
      );
      const parts: Columns[] = [];
      for (const s of overlapping.sort((a, b) => a.minMicros - b.minMicros))
        parts.push(await store.segments.read(s));
      let merged = mergeColumns([...parts, chunk], keep);
      if (old.retainFrom !== undefined)
        merged = sliceColumns(merged, old.retainFrom, Number.MAX_SAFE_INTEGER);
      const entries: SegmentEntry[] = [];
      if (merged.length > 0) entries.push(await store.segments.write(variable, w, merged));
      written += entries.length;
      const gone = new Set(overlapping.map((s) => s.key));
      removed.push(...gone);
      segments = segments.filter((s) => !gone.has(s.key)).concat(entries);
    }
  }
  const next: Manifest = { ...old, compactedSeq: Math.max(old.compactedSeq, seq), segments };
  if (written > 0 || removed.length > 0 || next.compactedSeq !== old.compactedSeq) {
    await store.segments.publish(next);
    store.manifest = next;
  }
  await store.segments.delete(removed);
  return {
    points,
    segmentsWritten: written,
    segmentsRemoved: removed.length,
    compactedSeq: next.compactedSeq,
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
  store: TimeSeriesStore,
  cutoff: number,
): Promise<Omit<RetentionResult, 'cutoff'>> {
  const old = store.manifest;
  const segments: SegmentEntry[] = [];
  const removed: string[] = [];
  let rewritten = 0;
  let pointsRemoved = 0;
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
    segments.push(await store.segments.write(s.variable, s.window, cols));
    rewritten++;
  }
  const next: Manifest = { ...old, segments, retainFrom: Math.max(cutoff, old.retainFrom ?? cutoff) };
  await store.segments.publish(next);
  store.manifest = next;
  await store.segments.delete(removed);
  return { segmentsRemoved: removed.length - rewritten, segmentsRewritten: rewritten, pointsRemoved };
}
