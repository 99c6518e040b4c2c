/**
 * Where a store's points came from (docs/lineage.md, "Time-series segments"). An append may name
 * its sources (the object version a worker job was read from, an HTTP request): the log keeps, per
 * variable, each source's time span, and a segment's lineage record lists the sources whose points
 * it holds. The write-ahead log's format does not change: a batch bringing a source new to its log
 * file is acknowledged only once a lineage record of that file (intent, operation
 * `timeseries.append`, the new sources as inputs) is durable in the store's lineage log. A writer
 * that replays a log (after a crash, a close without compaction, another writer's abandoned log)
 * reads those records back: their sources count for every replayed point of that log.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import {
  GroupedLineageLog,
  LINEAGE_PREFIX,
  type LineageInput,
  LineageLog,
  parseLineageLine,
} from '../lineage/index.ts';
import type { Storage } from '../storage/types.ts';
import { decodeUtf8 } from '../util/utf8.ts';
import type { PointBatch } from './codec.ts';

/** A source's points in one variable: their time span, µs. */
interface Span {
  input: LineageInput;
  min: number;
  max: number;
}

type Sources = Map<string, Map<string, Span>>;

const sourceKey = (i: LineageInput): string =>
  i.kind === 'object' ? `o\n${i.url}\n${i.etag}` : `${i.kind}\n${JSON.stringify(i)}`;

/** The lineage-log session prefix of a writer slot's records: its recovery lists only those. */
export function slotSession(slotDir: string): string {
  return `ts${createHash('sha256').update(slotDir).digest('hex').slice(0, 10)}`;
}

/** The sources of points buffered (active) and being compacted (frozen), per variable. */
export class Provenance {
  private active: Sources = new Map();
  private frozen: Sources | undefined;
  /** Sources of replayed points whose spans the log does not keep: they count for every point. */
  private recovered = new Map<string, LineageInput>();
  private frozenRecovered: Map<string, LineageInput> | undefined;

  /** A committed batch's points came from `inputs`. */
  note(batch: PointBatch, inputs: readonly LineageInput[]): void {
    const spans = new Map<number, [number, number]>();
    for (let i = 0; i < batch.count; i++) {
      const v = batch.varIdx[i] as number;
      const t = batch.micros[i] as number;
      const s = spans.get(v);
      if (!s) spans.set(v, [t, t]);
      else if (t < s[0]) s[0] = t;
      else if (t > s[1]) s[1] = t;
    }
    for (const [v, [lo, hi]] of spans) {
      const variable = batch.vars[v] as string;
      const byKey = this.active.get(variable) ?? new Map<string, Span>();
      this.active.set(variable, byKey);
      for (const input of inputs) {
        const key = sourceKey(input);
        const span = byKey.get(key);
        if (!span) byKey.set(key, { input, min: lo, max: hi });
        else {
          span.min = Math.min(span.min, lo);
          span.max = Math.max(span.max, hi);
        }
      }
    }
  }

  /** Replayed points of a log came from these sources (spans unknown). */
  noteRecovered(inputs: readonly LineageInput[]): void {
    for (const i of inputs) this.recovered.set(sourceKey(i), i);
  }

  /** At the log rotation a compaction starts from (with the buffers' freeze). */
  freeze(): void {
    this.frozen = this.active;
    this.frozenRecovered = this.recovered;
    this.active = new Map();
    this.recovered = new Map();
  }

  /** A failed compaction: its points (and sources) are buffered again. */
  unfreeze(): void {
    if (!this.frozen) return;
    for (const [variable, spans] of this.frozen) {
      const into = this.active.get(variable);
      if (!into) this.active.set(variable, spans);
      else for (const [k, s] of spans) if (!into.has(k)) into.set(k, s);
    }
    for (const [k, i] of this.frozenRecovered ?? []) this.recovered.set(k, i);
    this.dropFrozen();
  }

  dropFrozen(): void {
    this.frozen = undefined;
    this.frozenRecovered = undefined;
  }

  /** The sources of the frozen points of `variable` in [lo, hi] µs. */
  sourcesOf(variable: string, lo: number, hi: number): LineageInput[] {
    const out: LineageInput[] = [...(this.frozenRecovered?.values() ?? [])];
    for (const span of this.frozen?.get(variable)?.values() ?? [])
      if (span.max >= lo && span.min <= hi) out.push(span.input);
    return out;
  }
}

/**
 * The durable side: a lineage record per log file for the sources new to it, written in groups
 * (the batches of one group commit, and of concurrent ones, share a put).
 */
export class LogProvenance {
  readonly log: GroupedLineageLog;
  /** Per log file, the sources it has a record of. */
  private readonly recorded = new Map<string, Set<string>>();

  constructor(storage: Storage, slotDir: string) {
    this.log = new GroupedLineageLog(new LineageLog(storage, { session: slotSession(slotDir) }));
  }

  /** Resolves once every source of `inputs` has a durable record for log file `file`. */
  record(file: string, inputs: readonly LineageInput[]): Promise<void> | undefined {
    const known = this.recorded.get(file) ?? new Set<string>();
    this.recorded.set(file, known);
    const fresh: LineageInput[] = [];
    for (const i of inputs) {
      const key = sourceKey(i);
      if (known.has(key)) continue;
      known.add(key);
      fresh.push(i);
    }
    if (fresh.length === 0) return undefined;
    const set = known;
    return this.log.begin({ output: `file://${file}`, operation: 'timeseries.append', inputs: fresh }).then(
      () => undefined,
      (error) => {
        // Not recorded: the next batch of these sources tries again.
        for (const i of fresh) set.delete(sourceKey(i));
        throw error;
      },
    );
  }

  /** Replayed log files: their records are read back (recordedSources); their drops are recorded. */
  adopt(files: readonly string[]): void {
    for (const f of files) if (!this.recorded.has(f)) this.recorded.set(f, new Set());
  }

  /** Log files gone (compacted): their records say so, with the next batch of the log. */
  async dropped(): Promise<void> {
    for (const file of [...this.recorded.keys()]) {
      const there = await fsp.access(file).then(
        () => true,
        () => false,
      );
      if (there) continue;
      this.recorded.delete(file);
      this.log.deleted(`file://${file}`, 'timeseries.compact');
    }
  }
}

/**
 * The sources recorded for the log files `files` (absolute paths) of the slot at `slotDir`: the
 * slot's own lineage objects of the days its oldest file can have records in.
 */
export async function recordedSources(
  storage: Storage,
  slotDir: string,
  files: readonly string[],
): Promise<LineageInput[]> {
  if (files.length === 0) return [];
  let oldest = Date.now();
  for (const f of files) {
    const st = await fsp.stat(f).catch(() => undefined);
    if (st) oldest = Math.min(oldest, st.birthtimeMs > 0 ? st.birthtimeMs : st.mtimeMs);
  }
  const urls = new Set(files.map((f) => `file://${path.resolve(f)}`));
  const session = slotSession(slotDir);
  const out = new Map<string, LineageInput>();
  // A day before the oldest file's birth, for records of a batch committed just as it was made.
  for (let day = oldest - 86_400_000; day <= Date.now() + 86_400_000; day += 86_400_000) {
    const prefix = `${LINEAGE_PREFIX}${new Date(day).toISOString().slice(0, 10)}/${session}-`;
    for await (const entry of storage.list({ prefix, recursive: true })) {
      if (entry.type !== 'object') continue;
      const text = decodeUtf8(await storage.get(entry.key)) ?? '';
      let line = 0;
      for (const row of text.split('\n')) {
        line++;
        if (row.trim() === '') continue;
        const r = parseLineageLine(row, entry.key, line);
        if (r.kind === 'intent' && r.operation === 'timeseries.append' && urls.has(r.output))
          for (const i of r.inputs) out.set(sourceKey(i), i);
      }
    }
  }
  return [...out.values()];
}
