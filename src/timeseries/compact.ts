/**
 * Compaction and retention: write the runs compact-plan.ts decides on (one file per window for
 * all variables, more only where a file would hold a variable twice or grow past FILE_ROWS), then
 * publish the manifest (last, atomically), then delete the files it no longer names. A file is
 * shared by the runs of many variables: it is deleted only once no entry names it, whatever
 * replaced which of its runs. A run that fails before its manifest is published (a full disk)
 * deletes the files it wrote, so failed runs leave no orphans; a killed run's are removed when the
 * store next opens (see orphans.ts).
 */
import pLimit from 'p-limit';
import { getLogger } from '../logging/logger.ts';
import { type ProgressFn, throttleProgress } from '../util/progress.ts';
import type { Columns } from './columns.ts';
import { mergeColumns, sliceColumns } from './columns.ts';
import { packRuns, planVariable, runsToCarry } from './compact-plan.ts';
import type { LeaseGuard } from './compaction-lease.ts';
import { compactedSeqOf, type Manifest, type SegmentEntry, withCompactedSeq } from './manifest.ts';
import type { MergeInputs } from './merge-inputs.ts';
import type { RunSource } from './segment-file-writer.ts';
import type { RunOrigin } from './segment-lineage.ts';
import type { SeriesBuffer } from './series-buffer.ts';
import type { StoreState } from './state.ts';

/** What a compaction or retention run reads, and the manifest it replaces once it has published one. */
export type CompactionState = Pick<StoreState, 'url' | 'options' | 'segments' | 'manifest' | 'lineage'>;

/**
 * Runs `write` (which writes segments, recording each in `written`, then publishes a manifest);
 * if it fails, deletes the files it wrote that the published manifest does not name. The
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
        const mine = new Set(written.map((e) => e.key));
        const gone = [...mine].filter((k) => !named.has(k));
        await store.lineage?.deleting(gone, 'timeseries.compact');
        await store.segments.delete(gone);
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

/**
 * After `next` replaced `old`: forgets the replaced entries' decoded rows and deletes the files no
 * entry names any more. The run succeeded, so a failure only leaves orphans.
 */
async function dropReplaced(
  store: CompactionState,
  old: Manifest,
  next: Manifest,
  replaced: SegmentEntry[],
  operation: string,
) {
  store.segments.forget(replaced);
  const named = new Set(next.segments.map((s) => s.key));
  const gone = new Set<string>();
  for (const s of old.segments) if (!named.has(s.key)) gone.add(s.key);
  try {
    // The new files' commits and the old ones' deletes, durable before the files go.
    await store.lineage?.deleting([...gone], operation);
    await store.segments.delete([...gone]);
  } catch (error) {
    getLogger().warn(
      { err: error, store: store.url },
      'cannot delete replaced segments; the next open of the store removes them',
    );
  }
}

/**
 * Windows written at once: one window's file is encoded while another's is fsynced or uploaded,
 * which a run of one window at a time spent waiting.
 */
const WINDOWS_AT_ONCE = 4;

/** Runs every window's write, several at once; all have settled before the first failure is thrown. */
async function allWindows(windows: (() => Promise<void>)[]): Promise<void> {
  const limit = pLimit(WINDOWS_AT_ONCE);
  const results = await Promise.allSettled(windows.map((w) => limit(w)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A run to write: segments to read and merge (in time order), and new points to merge in last. */
interface RunPlan {
  variable: string;
  parts: SegmentEntry[];
  points?: Columns;
}

/**
 * Whether plan `p` (its points already cut at `retainFrom`) merges by laying its parts and points
 * end to end: parts in time order, none overlapping the next or the points, none reaching before
 * `retainFrom`, all in files `inputs` decodes. Its rows are then known from the manifest before
 * any is read, and the writer reads them a variable at a time (a window's segments of a variable
 * never overlap, compact-plan.ts: the usual case). Others are read whole and merged as before.
 */
async function laysEndToEnd(
  p: RunPlan,
  points: Columns | undefined,
  retainFrom: number | undefined,
  inputs: MergeInputs,
): Promise<boolean> {
  const { parts } = p;
  if (parts.length === 0) return false;
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i] as SegmentEntry;
    if (retainFrom !== undefined && s.minMicros < retainFrom) return false;
    if (i > 0 && (parts[i - 1] as SegmentEntry).maxMicros >= s.minMicros) return false;
  }
  if (points?.length && (parts[parts.length - 1] as SegmentEntry).maxMicros >= (points.micros[0] as number))
    return false;
  return inputs.decodes(parts);
}

/**
 * Writes window `w`'s runs: merges each plan's segments and points, keeps what `retainFrom`
 * keeps, and writes the files packRuns makes of them. Runs whose parts lie end to end are read
 * when the writer reaches them; others are read up front (one query per file). Returns the new
 * entries.
 */
async function writeWindow(
  store: CompactionState,
  w: number,
  plans: readonly RunPlan[],
  retainFrom: number | undefined,
  operation: string,
): Promise<SegmentEntry[]> {
  const keep = store.options.keepDuplicates;
  const inputs = store.segments.mergeInputs();
  // Files hold their runs in variable order, so a merge reads each input file front to back
  // (segment-columns.ts decodes a row group once for all the runs in it).
  plans = [...plans].sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
  try {
    const cut = plans.map((p) =>
      p.points && retainFrom !== undefined
        ? sliceColumns(p.points, retainFrom, Number.MAX_SAFE_INTEGER)
        : p.points,
    );
    const lazy: boolean[] = [];
    for (const [i, p] of plans.entries()) lazy.push(await laysEndToEnd(p, cut[i], retainFrom, inputs));
    const read = await store.segments.readMany(plans.flatMap((p, i) => (lazy[i] ? [] : p.parts)));
    const runs: (RunSource & RunOrigin & { rows: number })[] = [];
    let at = 0;
    for (const [i, p] of plans.entries()) {
      const fresh = p.points?.length
        ? { fresh: [p.points.micros[0], p.points.micros[p.points.length - 1]] as [number, number] }
        : {};
      const points = cut[i];
      if (lazy[i]) {
        const rows = p.parts.reduce((n, s) => n + s.rows, points?.length ?? 0);
        // Parts one after another: one variable's rows at a time, dropped once encoded.
        const load = () => inputs.readRun(p.parts, points);
        // Its columns are readRun's own: freed once encoded (unless the cache keeps them).
        const release = (c: Columns) => inputs.recycle(c);
        if (rows > 0) runs.push({ variable: p.variable, rows, load, release, parts: p.parts, ...fresh });
        continue;
      }
      const parts = read.slice(at, at + p.parts.length);
      at += p.parts.length;
      let merged = mergeColumns(p.points ? [...parts, p.points] : parts, keep);
      if (retainFrom !== undefined) merged = sliceColumns(merged, retainFrom, Number.MAX_SAFE_INTEGER);
      if (merged.length === 0) continue;
      runs.push({ variable: p.variable, cols: merged, rows: merged.length, parts: p.parts, ...fresh });
    }
    const out: SegmentEntry[] = [];
    for (const file of packRuns(runs))
      for (const e of await store.segments.write(w, file, store.lineage?.declare(operation, file)))
        out.push(e);
    return out;
  } finally {
    await inputs.close();
  }
}

/** Sorts entries by (variable, window): the manifest is the same for the same points, whichever window finished first. */
function byVariableAndWindow(a: SegmentEntry, b: SegmentEntry): number {
  return a.variable < b.variable
    ? -1
    : a.variable > b.variable
      ? 1
      : a.window - b.window || (a.rowStart ?? 0) - (b.rowStart ?? 0);
}

export interface CompactResult {
  /** Points written from buffers. */
  points: number;
  /** Segment entries written (one per variable per file) and replaced. */
  segmentsWritten: number;
  segmentsRemoved: number;
  /** Files written. */
  filesWritten: number;
  /**
   * Points of existing segments written again: merged with new points they overlap, merged to
   * keep a window's segments few, or carried out of a file whose other runs were replaced.
   */
  pointsRewritten: number;
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
  let points = 0;
  for (const buf of buffers.values()) points += buf.length;
  const none = { points, segmentsWritten: 0, segmentsRemoved: 0, filesWritten: 0, pointsRewritten: 0 };
  // Already in segments: a publish of this run whose answer was lost (a put retried after it
  // landed is refused as a lost race). Merging again would double them with keepDuplicates.
  if (seq > 0 && seq <= compactedSeqOf(old, writerId))
    return { ...none, compactedSeq: compactedSeqOf(old, writerId) };

  const byVariable = new Map<string, SegmentEntry[]>();
  for (const s of old.segments) {
    const list = byVariable.get(s.variable);
    if (list) list.push(s);
    else byVariable.set(s.variable, [s]);
  }
  const windows = new Map<number, RunPlan[]>();
  const plansOf = (w: number) => windows.get(w) ?? (windows.set(w, []).get(w) as RunPlan[]);
  const replaced = new Set<SegmentEntry>();
  for (const [variable, buf] of buffers) {
    if (buf.length === 0) continue;
    const cols = buf.sorted(keep);
    for (let i = 0; i < cols.length; ) {
      const w = Math.floor((cols.micros[i] as number) / P) * P;
      const chunk = sliceColumns(cols, w, w + P);
      i += chunk.length;
      const inWindow = (byVariable.get(variable) ?? []).filter(
        (s) => s.maxMicros >= w && s.minMicros < w + P,
      );
      const plan = planVariable(
        inWindow,
        chunk.micros[0] as number,
        chunk.micros[chunk.length - 1] as number,
        chunk.length,
      );
      const inTime = (a: SegmentEntry, b: SegmentEntry) => a.minMicros - b.minMicros;
      plansOf(w).push({ variable, parts: plan.withPoints.sort(inTime), points: chunk });
      if (plan.among.length > 0) plansOf(w).push({ variable, parts: plan.among.sort(inTime) });
      for (const s of [...plan.withPoints, ...plan.among]) replaced.add(s);
    }
  }
  const carried = runsToCarry(old.segments, new Set(windows.keys()), replaced);
  for (const s of carried) {
    plansOf(s.window).push({ variable: s.variable, parts: [s] });
    replaced.add(s);
  }
  let pointsRewritten = 0;
  for (const s of replaced) pointsRewritten += s.rows;

  const created: SegmentEntry[] = [];
  // New points of the windows written so far, against all buffered points.
  const report = throttleProgress(onProgress);
  let compacted = 0;
  report?.({ operation: 'ts-compact', done: 0, total: points, unit: 'points' });
  const next = await takingBackOnFailure(store, async (written) => {
    await allWindows(
      [...windows].map(([w, plans]) => async () => {
        const entries = await writeWindow(store, w, plans, old.retainFrom, 'timeseries.compact');
        for (const e of entries) {
          written.push(e);
          created.push(e);
        }
        for (const plan of plans) compacted += plan.points?.length ?? 0;
        report?.({ operation: 'ts-compact', done: compacted, total: points, unit: 'points' });
      }),
    );
    created.sort(byVariableAndWindow);
    const segments = old.segments.filter((s) => !replaced.has(s)).concat(created);
    const next: Manifest = withCompactedSeq({ ...old, segments }, writerId, seq);
    if (
      created.length > 0 ||
      replaced.size > 0 ||
      compactedSeqOf(next, writerId) !== compactedSeqOf(old, writerId)
    ) {
      await guard.assertHeld();
      await store.segments.publish(next, old);
      store.manifest = next;
    }
    return next;
  });
  await dropReplaced(store, old, next, [...replaced], 'timeseries.compact');
  return {
    points,
    segmentsWritten: created.length,
    segmentsRemoved: replaced.size,
    filesWritten: new Set(created.map((e) => e.key)).size,
    pointsRewritten,
    compactedSeq: compactedSeqOf(next, writerId),
  };
}

export interface RetentionResult {
  cutoff: string;
  segmentsRemoved: number;
  segmentsRewritten: number;
  pointsRemoved: number;
}

/** Deletes points older than `cutoff` µs: whole segments dropped, straddling ones rewritten (a file per window). */
export async function applyRetentionTo(
  store: CompactionState,
  cutoff: number,
  guard: LeaseGuard,
): Promise<Omit<RetentionResult, 'cutoff'>> {
  const old = store.manifest;
  const kept: SegmentEntry[] = [];
  const dropped: SegmentEntry[] = [];
  const windows = new Map<number, RunPlan[]>();
  let pointsRemoved = 0;
  let straddling = 0;
  for (const s of old.segments) {
    if (s.minMicros >= cutoff) kept.push(s);
    else {
      dropped.push(s);
      if (s.maxMicros < cutoff) pointsRemoved += s.rows;
      else {
        const plans = windows.get(s.window);
        if (plans) plans.push({ variable: s.variable, parts: [s] });
        else windows.set(s.window, [{ variable: s.variable, parts: [s] }]);
        straddling++;
      }
    }
  }
  const next = await takingBackOnFailure(store, async (written) => {
    const created: SegmentEntry[] = [];
    await allWindows(
      [...windows].map(([w, plans]) => async () => {
        const entries = await writeWindow(store, w, plans, cutoff, 'timeseries.retention');
        for (const e of entries) {
          written.push(e);
          created.push(e);
        }
      }),
    );
    for (const e of created) pointsRemoved -= e.rows;
    for (const plans of windows.values())
      for (const p of plans) for (const s of p.parts) pointsRemoved += s.rows;
    created.sort(byVariableAndWindow);
    const next: Manifest = {
      ...old,
      segments: kept.concat(created),
      retainFrom: Math.max(cutoff, old.retainFrom ?? cutoff),
    };
    await guard.assertHeld();
    await store.segments.publish(next, old);
    store.manifest = next;
    return next;
  });
  await dropReplaced(store, old, next, dropped, 'timeseries.retention');
  return { segmentsRemoved: dropped.length - straddling, segmentsRewritten: straddling, pointsRemoved };
}
