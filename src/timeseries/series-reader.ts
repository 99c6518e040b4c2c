/**
 * The read side: merges published Parquet segments with buffered points, one partition window at
 * a time, so a long range streams with memory bounded by one window.
 */
import { ValidationError } from '../errors.ts';
import { parseDuration } from '../util/durations.ts';
import { AGGREGATE_FNS, BucketAggregator, MetadataCache, pointAt } from './aggregate.ts';
import { type Columns, mergeColumns, sliceColumns } from './columns.ts';
import type { SegmentEntry } from './manifest.ts';
import type { StoreState } from './state.ts';
import type { AggregateOptions, AggregateRow, QueryOptions, StoredPoint, TimestampInput } from './types.ts';
import { assertVariableName, parseTimestamp } from './validate.ts';

const MIN = -Number.MAX_SAFE_INTEGER;
const MAX = Number.MAX_SAFE_INTEGER;

function bound(name: string, t: TimestampInput | undefined, def: number): number {
  if (t === undefined || t === null) return def;
  const v = parseTimestamp(t);
  if (v === undefined)
    throw new ValidationError(`Option ${name} is not a timestamp: ${JSON.stringify(String(t))}`);
  return v;
}

/** What the reader reads: the published segments and the buffered points. */
export type ReaderState = Readonly<Pick<StoreState, 'options' | 'segments' | 'manifest' | 'buffers'>>;

export class SeriesReader {
  private readonly state: ReaderState;
  /** Re-reads the manifest and the log tail into the state (point-log.ts); read-only opens only. */
  private readonly refresh: () => Promise<void>;
  private indexFor: unknown;
  private index = new Map<string, SegmentEntry[]>();

  constructor(state: ReaderState, refresh: () => Promise<void>) {
    this.state = state;
    this.refresh = refresh;
  }

  private segmentsOf(variable: string): SegmentEntry[] {
    const m = this.state.manifest;
    if (this.indexFor !== m) {
      this.index = new Map();
      for (const s of m.segments) {
        const list = this.index.get(s.variable) ?? [];
        list.push(s);
        this.index.set(s.variable, list);
      }
      for (const list of this.index.values()) list.sort((a, b) => a.minMicros - b.minMicros);
      this.indexFor = m;
    }
    return this.index.get(variable) ?? [];
  }

  private buffered(variable: string, keep: boolean): Columns {
    const parts: Columns[] = [];
    const f = this.state.buffers.frozen?.get(variable);
    if (f) parts.push(f.sorted(keep));
    const a = this.state.buffers.active.get(variable);
    if (a) parts.push(a.sorted(keep));
    return mergeColumns(parts, keep);
  }

  private async refreshIfReader(): Promise<void> {
    if (this.state.options.readOnly) await this.refresh();
  }

  /** Reads segments; a reader racing compaction (segment replaced and deleted) reloads and retries. */
  private async readSegments(variable: string, lo: number, hi: number): Promise<Columns[]> {
    for (let attempt = 0; ; attempt++) {
      const segs = this.segmentsOf(variable).filter((s) => s.maxMicros >= lo && s.minMicros < hi);
      try {
        return await Promise.all(segs.map((s) => this.state.segments.read(s)));
      } catch (error) {
        if (!this.state.options.readOnly || attempt >= 4) throw error;
        await this.refresh();
      }
    }
  }

  private async *chunks(variable: string, from: number, to: number, desc: boolean): AsyncGenerator<Columns> {
    assertVariableName(variable);
    await this.refreshIfReader();
    const keep = this.state.options.keepDuplicates;
    const retain = this.state.manifest.retainFrom;
    if (retain !== undefined && from < retain) from = retain;
    if (from >= to) return;
    const buf = sliceColumns(this.buffered(variable, keep), from, to);
    const P = this.state.options.partitionMs * 1000;
    const windows = new Set<number>();
    for (const s of this.segmentsOf(variable)) {
      if (s.maxMicros < from || s.minMicros >= to) continue;
      for (let w = Math.floor(s.minMicros / P) * P; w <= s.maxMicros; w += P) windows.add(w);
    }
    for (let i = 0; i < buf.length; ) {
      const w = Math.floor((buf.micros[i] as number) / P) * P;
      windows.add(w);
      while (i < buf.length && (buf.micros[i] as number) < w + P) i++;
    }
    const ordered = [...windows].sort((a, b) => (desc ? b - a : a - b));
    for (const w of ordered) {
      const lo = Math.max(from, w);
      const hi = Math.min(to, w + P);
      const segCols = (await this.readSegments(variable, lo, hi)).map((c) => sliceColumns(c, lo, hi));
      const merged = mergeColumns([...segCols, sliceColumns(buf, lo, hi)], keep);
      if (merged.length > 0) yield merged;
    }
  }

  /** Sorted, resolved points of one variable in [from, to). */
  async scan(variable: string, from = MIN, to = MAX): Promise<Columns> {
    const parts: Columns[] = [];
    for await (const c of this.chunks(variable, from, to, false)) parts.push(c);
    return parts.length === 1 ? (parts[0] as Columns) : mergeColumns(parts, true);
  }

  /** Points of `variable` in [from, to), in timestamp order (or reversed), streamed window by window. */
  query(variable: string, options: QueryOptions = {}): AsyncIterableIterator<StoredPoint> {
    // A hand-written iterator: an async generator's yield* costs several promise ticks per point,
    // this costs one, and awaits the source only once per window.
    const chunks = this.queryChunks(variable, options);
    let current: StoredPoint[] = [];
    let i = 0;
    const done = { done: true, value: undefined } as IteratorReturnResult<undefined>;
    return {
      async next(): Promise<IteratorResult<StoredPoint>> {
        while (i >= current.length) {
          const r = await chunks.next();
          if (r.done) return done;
          current = r.value;
          i = 0;
        }
        return { done: false, value: current[i++] as StoredPoint };
      },
      async return(): Promise<IteratorResult<StoredPoint>> {
        await chunks.return(undefined);
        return done;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Like query, collected into an array. */
  async queryAll(variable: string, options: QueryOptions = {}): Promise<StoredPoint[]> {
    const out: StoredPoint[] = [];
    for await (const chunk of this.queryChunks(variable, options)) for (const p of chunk) out.push(p);
    return out;
  }

  private async *queryChunks(variable: string, options: QueryOptions): AsyncGenerator<StoredPoint[]> {
    const from = bound('from', options.from, MIN);
    const to = bound('to', options.to, MAX);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (!(limit >= 0)) throw new ValidationError(`Option limit must be ≥ 0, got ${options.limit}`);
    if (options.order !== undefined && options.order !== 'asc' && options.order !== 'desc') {
      throw new ValidationError(`Option order must be 'asc' or 'desc', got ${JSON.stringify(options.order)}`);
    }
    const desc = options.order === 'desc';
    let n = 0;
    if (limit === 0) return;
    const metas = new MetadataCache();
    for await (const c of this.chunks(variable, from, to, desc)) {
      // Points are built a window at a time: one await per window, not one per point.
      const take = Math.min(c.length, limit - n);
      const out = new Array<StoredPoint>(take);
      for (let k = 0; k < take; k++) out[k] = pointAt(variable, c, desc ? c.length - 1 - k : k, metas);
      n += take;
      yield out;
      if (n >= limit) return;
    }
  }

  async aggregate(variables: string | string[], options: AggregateOptions): Promise<AggregateRow[]> {
    const list = typeof variables === 'string' ? [variables] : variables;
    const fn = options.fn ?? 'avg';
    if (!AGGREGATE_FNS.includes(fn)) {
      throw new ValidationError(
        `Option fn must be one of ${AGGREGATE_FNS.join(', ')}, got ${JSON.stringify(fn)}`,
      );
    }
    let everyMs: number;
    try {
      everyMs = typeof options.every === 'number' ? options.every : parseDuration(options.every);
    } catch (error) {
      throw new ValidationError(`Option every: ${(error as Error).message}`);
    }
    if (!(everyMs >= 0.001))
      throw new ValidationError(`Option every must be a positive duration, got ${options.every}`);
    const from = bound('from', options.from, MIN);
    const to = bound('to', options.to, MAX);
    const rows: AggregateRow[] = [];
    for (const v of list) {
      // Window by window: memory holds one window and the result's buckets, not the series.
      const agg = new BucketAggregator(v, Math.round(everyMs * 1000), fn);
      for await (const c of this.chunks(v, from, to, false)) agg.add(c);
      for (const row of agg.finish()) rows.push(row);
    }
    return rows;
  }

  async latest(variable: string): Promise<StoredPoint | undefined> {
    assertVariableName(variable);
    await this.refreshIfReader();
    let max = Number.NEGATIVE_INFINITY;
    for (const s of this.segmentsOf(variable)) max = Math.max(max, s.maxMicros);
    for (const b of [this.state.buffers.frozen?.get(variable), this.state.buffers.active.get(variable)]) {
      if (b && b.length > 0) max = Math.max(max, b.maxMicros);
    }
    if (!Number.isFinite(max)) return undefined;
    const c = await this.scan(variable, max, max + 1);
    return c.length > 0 ? pointAt(variable, c, c.length - 1) : undefined;
  }

  async variables(): Promise<string[]> {
    await this.refreshIfReader();
    const names = new Set<string>();
    for (const s of this.state.manifest.segments) names.add(s.variable);
    for (const m of [this.state.buffers.frozen, this.state.buffers.active])
      for (const [k, b] of m ?? []) if (b.length > 0) names.add(k);
    return [...names].sort();
  }
}
