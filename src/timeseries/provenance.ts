/**
 * Where a store's points came from (docs/lineage.md, "Time-series segments"). An append may name
 * its sources (the object version a worker job was read from, an HTTP request): the log keeps, per
 * variable, each source's time span, and a segment's lineage record lists the sources whose points
 * it holds. The write-ahead log's format does not change: the sources new to a log file get a
 * lineage record of that file (intent, operation `timeseries.append`) in the store's lineage log,
 * written in the background (an append never waits for it: a crash can lose the last 100 ms of
 * them). A writer that replays a log (after a crash, a close without compaction, another writer's
 * abandoned log) reads those records back: their sources count for every replayed point of it.
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
import { getLogger } from '../logging/logger.ts';
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
    if (batch.count === 1) {
      const t = batch.micros[0] as number;
      this.noteSpan(batch.vars[batch.varIdx[0] as number] as string, t, t, inputs);
      return;
    }
    const spans = new Map<number, [number, number]>();
    for (let i = 0; i < batch.count; i++) {
      const v = batch.varIdx[i] as number;
      const t = batch.micros[i] as number;
      const s = spans.get(v);
      if (!s) spans.set(v, [t, t]);
      else if (t < s[0]) s[0] = t;
      else if (t > s[1]) s[1] = t;
    }
    for (const [v, [lo, hi]] of spans) this.noteSpan(batch.vars[v] as string, lo, hi, inputs);
  }

  private noteSpan(variable: string, lo: number, hi: number, inputs: readonly LineageInput[]): void {
    let byKey = this.active.get(variable);
    if (!byKey) {
      byKey = new Map<string, Span>();
      this.active.set(variable, byKey);
    }
    for (const input of inputs) {
      const key = sourceKey(input);
      const span = byKey.get(key);
      if (!span) byKey.set(key, { input, min: lo, max: hi });
      else {
        if (lo < span.min) span.min = lo;
        if (hi > span.max) span.max = hi;
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

/** How long sources new to a log file wait to share one lineage object with those after them. */
const RECORD_EVERY_MS = 100;

/**
 * The durable side: a lineage record per log file for the sources new to it, written in the
 * background (one object per RECORD_EVERY_MS at most, whatever the number of objects or commits),
 * so an append never waits for it; the store's close and each compaction's end write what waits.
 */
export class LogProvenance {
  readonly log: GroupedLineageLog;
  /** Per log file, the sources it has a record of (or one waiting). */
  private readonly recorded = new Map<string, Set<string>>();
  private waiting = new Map<string, LineageInput[]>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(storage: Storage, slotDir: string) {
    this.log = new GroupedLineageLog(new LineageLog(storage, { session: slotSession(slotDir) }));
  }

  /** Notes that log file `file` holds points from `inputs`: recorded within RECORD_EVERY_MS. */
  record(file: string, inputs: readonly LineageInput[]): void {
    const known = this.recorded.get(file) ?? new Set<string>();
    this.recorded.set(file, known);
    for (const i of inputs) {
      const key = sourceKey(i);
      if (known.has(key)) continue;
      known.add(key);
      const list = this.waiting.get(file) ?? [];
      list.push(i);
      this.waiting.set(file, list);
    }
    if (this.waiting.size > 0 && !this.timer) {
      this.timer = setTimeout(() => void this.flush().catch(() => {}), RECORD_EVERY_MS);
      this.timer.unref();
    }
  }

  /** Writes the waiting records now (one object); a failure keeps them for the next try. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = new Map();
    const run = this.writing.then(async () => {
      if (batch.size === 0) return;
      try {
        await Promise.all(
          [...batch].map(([file, inputs]) =>
            this.log.begin({ output: `file://${file}`, operation: 'timeseries.append', inputs }),
          ),
        );
      } catch (error) {
        for (const [file, inputs] of batch)
          this.waiting.set(file, [...inputs, ...(this.waiting.get(file) ?? [])]);
        getLogger().warn({ err: error }, 'cannot record the sources of appended points; retrying');
        this.timer ??= setTimeout(() => void this.flush().catch(() => {}), RECORD_EVERY_MS * 10);
        this.timer.unref();
        throw error;
      }
    });
    this.writing = run.catch(() => {});
    return run;
  }

  /** Replayed log files: their records are read back (recordedSources); their drops are recorded. */
  adopt(files: readonly string[]): void {
    for (const f of files) if (!this.recorded.has(f)) this.recorded.set(f, new Set());
  }

  /** Log files gone (compacted): their records say so, with the next batch of the log. */
  async dropped(): Promise<void> {
    for (const file of [...this.recorded.keys()]) {
      if (this.waiting.has(file)) continue;
      const there = await fsp.access(file).then(
        () => true,
        () => false,
      );
      if (there) continue;
      this.recorded.delete(file);
      this.log.deleted(`file://${file}`, 'timeseries.compact');
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
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
