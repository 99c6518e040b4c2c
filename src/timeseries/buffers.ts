/**
 * The points in the log not yet compacted: the per-variable buffers of the active set, and the set
 * frozen by a running compaction.
 *
 * A committed batch is kept as it is (its columns are the log record's own memory) and
 * distributed to per-variable buffers while the log waits for its next fsync (point-log.ts), in
 * time the thread would otherwise spend waiting, or when something reads them first — a query,
 * stats, or the freeze that starts a compaction. Committing stays O(1) per batch, and a freeze
 * has only the last batches to place: placing 2M points at the freeze was a quarter of their
 * compaction (docs/timeseries.md). With durability 'os' (no fsync) batches wait for a read.
 */
import { type PointBatch, T_STRING } from './codec.ts';
import { placeTiled } from './place-tiled.ts';
import { BUFFER_BYTES_PER_POINT, columnBlockBytes, MetaDict, SeriesBuffer } from './series-buffer.ts';

/** A committed batch waiting to be distributed; its points with seq ≤ skipUpTo are already in segments. */
interface Pending {
  batch: PointBatch;
  skipUpTo: number;
}

export class PointBuffers {
  /**
   * Points a set is expected to reach before it is compacted (the store's compactPoints and
   * compactBytes; 0: no bound). A buffer made for a set gets room for its variable's share of
   * that at once — the share it has of the points placed with it — instead of growing batch by
   * batch: in a block mapped by glibc, pages never written take no memory.
   */
  private readonly expectedSetPoints: number;
  constructor(expectedSetPoints = 0) {
    this.expectedSetPoints = expectedSetPoints;
  }

  private activeSet = new Map<string, SeriesBuffer>();
  private pending: Pending[] = [];
  /**
   * The pending batches' points and the variables each names, summed (a log of single-point
   * appends keeps thousands pending: counting them at every commit would be quadratic).
   */
  private waiting = { points: 0, named: 0 };
  frozen: Map<string, SeriesBuffer> | undefined;
  /** Points in the active set (distributed or not). */
  buffered = 0;
  /** Memory the active set takes, in bytes (estimated: columns and string values). */
  bufferedBytes = 0;
  /**
   * The active set's metadata texts. Each set has its own, dropped with it: a store whose
   * metadata never repeats (a request id in it) would otherwise keep every text it ever saw.
   */
  private dict = new MetaDict();
  /**
   * The last batches' variables and metadata texts by position, and what they resolved to: a
   * poller's batches list the same variables in the same order batch after batch, and at 10,000
   * variables a batch holds one point of each, so a map lookup per name per batch was most of a
   * freeze (370 of 740 ms compacting 2M points).
   */
  private readonly lastBufs = new ByPosition<SeriesBuffer>();
  private readonly lastMetas = new MetaIdsByPosition();

  /** Points committed and not yet distributed to their variables' buffers. */
  get undistributed(): number {
    return this.waiting.points;
  }

  /**
   * Distributes the committed batches waiting, when they hold many points for each variable they
   * name (the log calls it while its fsync runs: they are then placed in time that would be spent
   * waiting, and a freeze has only the last to place). Batches of a point or a few for each of
   * many variables wait for the freeze: placed batch by batch, each variable's buffer grows and
   * is looked up once a batch, and 10,000 variables' appends took twice as long.
   */
  distributePending(): void {
    if (this.waiting.points > 0 && !this.waitingAreWide()) this.distribute();
  }

  /** Whether the pending batches hold, on average, fewer than 16 points for each variable they name. */
  private waitingAreWide(): boolean {
    return this.waiting.points < EARLY_POINTS_PER_VARIABLE * this.waiting.named;
  }

  /** The active set's buffers by variable, every committed batch distributed. */
  get active(): Map<string, SeriesBuffer> {
    if (this.pending.length > 0) this.distribute();
    return this.activeSet;
  }

  reset(): void {
    this.activeSet = new Map();
    this.pending = [];
    this.waiting = { points: 0, named: 0 };
    this.buffered = 0;
    this.bufferedBytes = 0;
    this.dict = new MetaDict();
  }

  /** Hands the active set to a compaction; new points go to a fresh set. */
  freeze(): Map<string, SeriesBuffer> {
    const f = this.active;
    this.frozen = f;
    this.activeSet = new Map();
    this.dict = new MetaDict();
    this.buffered = 0;
    this.bufferedBytes = 0;
    return f;
  }

  /** A compaction succeeded: the frozen points are in published segments now. */
  dropFrozen(): void {
    this.frozen = undefined;
  }

  /** Takes a committed batch; points with seq ≤ skipUpTo are already in segments. */
  apply(b: PointBatch, skipUpTo = 0): void {
    this.pending.push({ batch: b, skipUpTo });
    this.waiting.points += b.count;
    this.waiting.named += b.vars.length;
    this.buffered += b.count;
    let strings = 0;
    if (b.strs.size > 0) for (const s of b.strs.values()) strings += s.length * 2;
    this.bufferedBytes += b.count * BUFFER_BYTES_PER_POINT + strings;
  }

  /**
   * Moves every pending batch into the per-variable buffers: counts first, so each buffer makes
   * room once for all of them, then one pass per batch. One map lookup per variable per batch.
   */
  private distribute(): void {
    const pending = this.pending;
    // Many batches of a point or a few for each of many variables: placed in tiles (place-tiled.ts).
    const wide = pending.length > 1 && this.waitingAreWide();
    this.pending = [];
    this.waiting = { points: 0, named: 0 };
    const plans: (SeriesBuffer | undefined)[][] = [];
    const touched: SeriesBuffer[] = [];
    for (const { batch: b, skipUpTo } of pending) {
      const counts = new Uint32Array(b.vars.length);
      const { varIdx } = b;
      for (let i = firstKept(b, skipUpTo); i < b.count; i++) {
        const v = varIdx[i] as number;
        counts[v] = (counts[v] as number) + 1;
      }
      const bufs: (SeriesBuffer | undefined)[] = [];
      for (let k = 0; k < b.vars.length; k++) {
        const c = counts[k] as number;
        if (c === 0) {
          bufs.push(undefined);
          continue;
        }
        const variable = b.vars[k] as string;
        let buf = this.lastBufs.bufs[k];
        if (
          buf === undefined ||
          this.lastBufs.names[k] !== variable ||
          this.lastBufs.set !== this.activeSet
        ) {
          buf = this.activeSet.get(variable);
          if (!buf) {
            buf = new SeriesBuffer(this.dict, 0);
            this.activeSet.set(variable, buf);
          }
          this.lastBufs.remember(this.activeSet, k, variable, buf);
        }
        if (buf.incoming === 0) touched.push(buf);
        buf.incoming += c;
        bufs.push(buf);
      }
      plans.push(bufs);
    }
    // Buffers that need room get it from one block for all of them (a freeze makes a whole set
    // this way, and buffers growing batch by batch grow together): one allocation instead of five
    // per variable, and one large enough to be mapped by glibc and unmapped when freed, its pages
    // past what is written never touched (see setBlockBytes).
    let round = 0;
    for (const buf of touched) round += buf.incoming;
    const expected = Math.min(this.expectedSetPoints, MOST_RESERVED_POINTS);
    // A variable's share of the expected set, a tenth more: its buffer then never grows.
    const share = (n: number) => (expected > round ? Math.ceil((n * expected * 11) / (round * 10)) : n);
    const caps = touched.map((buf) =>
      buf.length === 0 ? share(buf.incoming) : buf.grownCapacity(buf.incoming),
    );
    let blockBytes = 0;
    for (const cap of caps) blockBytes += columnBlockBytes(cap);
    const block = blockBytes > 0 ? new ArrayBuffer(setBlockBytes(blockBytes)) : undefined;
    let at = 0;
    for (let k = 0; k < touched.length; k++) {
      const buf = touched[k] as SeriesBuffer;
      const cap = caps[k] as number;
      if (block && cap > 0) {
        buf.adopt(block, at, cap);
        at += columnBlockBytes(cap);
      }
      buf.incoming = 0;
    }
    const from = touched.map((buf) => buf.length);
    if (wide) {
      const batches = pending.map(({ batch, skipUpTo }, k) => ({
        batch,
        first: firstKept(batch, skipUpTo),
        bufs: plans[k] as SeriesBuffer[],
        metaIds: this.lastMetas.ids(batch.metas, this.dict),
      }));
      // Only `batches` holds the records now: placeTiled drops them as it copies them.
      pending.length = 0;
      placeTiled(batches);
    } else
      for (let k = 0; k < pending.length; k++) {
        const { batch, skipUpTo } = pending[k] as Pending;
        this.place(batch, skipUpTo, plans[k] as SeriesBuffer[]);
        // The record's memory can go as soon as its points are copied.
        pending[k] = undefined as unknown as Pending;
      }
    for (let k = 0; k < touched.length; k++) (touched[k] as SeriesBuffer).appended(from[k] as number);
  }

  /**
   * Copies one batch's points (room already made) into their variables' buffers `bufs`, straight
   * into the columns; the buffers learn their new points' order and range after (appended()).
   */
  private place(b: PointBatch, skipUpTo: number, bufs: (SeriesBuffer | undefined)[]): void {
    const metaIds = this.lastMetas.ids(b.metas, this.dict);
    const { varIdx, micros, type, num, metaIdx, strs, firstSeq } = b;
    const withStrings = strs.size > 0;
    const at = new Uint32Array(bufs.length);
    for (let v = 0; v < bufs.length; v++) at[v] = bufs[v]?.length ?? 0;
    for (let i = firstKept(b, skipUpTo); i < b.count; i++) {
      const v = varIdx[i] as number;
      const buf = bufs[v] as SeriesBuffer;
      const j = at[v] as number;
      at[v] = j + 1;
      const t = type[i] as number;
      if (withStrings && t === T_STRING) buf.strs[j] = strs.get(i);
      buf.micros[j] = micros[i] as number;
      buf.seq[j] = firstSeq + i;
      buf.type[j] = t;
      buf.num[j] = num[i] as number;
      buf.metaIds[j] = metaIds[metaIdx[i] as number] as number;
    }
    for (let v = 0; v < bufs.length; v++) {
      const buf = bufs[v];
      if (buf) buf.length = at[v] as number;
    }
  }

  bufferFor(variable: string): SeriesBuffer {
    let buf = this.active.get(variable);
    if (!buf) {
      buf = new SeriesBuffer(this.dict);
      this.activeSet.set(variable, buf);
    }
    return buf;
  }

  /** A failed compaction: frozen points go back to the active set, with what arrived since. */
  unfreeze(): void {
    const frozen = this.frozen;
    this.frozen = undefined;
    if (!frozen) return;
    const newer = this.active;
    this.activeSet = frozen;
    const first = frozen.values().next().value;
    // The frozen set's metadata ids are in its own dict: the newer points' texts move to it.
    if (first) this.dict = first.dict;
    for (const [variable, buf] of newer) {
      const into = this.bufferFor(variable);
      into.reserve(buf.length);
      for (let i = 0; i < buf.length; i++) {
        const meta = buf.metaAt(i);
        into.push(
          buf.micros[i] as number,
          buf.seq[i] as number,
          buf.type[i] as number,
          buf.num[i] as number,
          buf.strs[i],
          meta === undefined ? 0 : this.dict.intern(meta),
        );
      }
    }
    this.buffered = [...this.activeSet.values()].reduce((s, b) => s + b.length, 0);
    this.bufferedBytes = setBytes(this.activeSet);
  }
}

/**
 * Most points a set's buffers are given room for ahead of their points (232 MiB of columns, a
 * mapping whose unwritten pages take no memory): a store allowed terabytes before compacting
 * would otherwise ask for that much at its first batch. Beyond it, buffers double.
 */
const MOST_RESERVED_POINTS = 8_000_000;

/** Points a batch holds for each variable it names, on average, for it to be placed early. */
const EARLY_POINTS_PER_VARIABLE = 16;

/**
 * Bytes to allocate for a set's block of `need` bytes. glibc's malloc maps a large block and
 * unmaps it when freed, but freeing a mapped block of up to 32 MiB raises its mapping threshold to
 * that size (and the heap's trim threshold to twice it): every smaller allocation after (batch
 * records, encoder buffers, a next set's smaller block) then comes from its heap, where freed
 * memory stays in the process. Measured (2M points, 100 variables, store defaults): the heap held
 * 61 MiB at the end with blocks of the size needed, 40 MiB with blocks past 32 MiB, which never
 * move the threshold. The pages past `need` are never touched, so they take no memory; a block
 * under 1 MiB (a read of a few points) is left to the heap.
 */
function setBlockBytes(need: number): number {
  return need < LARGE_BLOCK ? need : Math.max(need, UNTHRESHOLDED_BLOCK);
}
const LARGE_BLOCK = 1 << 20;
/** Above glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit (32 MiB): always mapped, and its free moves no threshold. */
const UNTHRESHOLDED_BLOCK = (32 << 20) + 4096;

/** The index of the first point of `b` with a seq above `skipUpTo` (points up to it are in segments). */
function firstKept(b: PointBatch, skipUpTo: number): number {
  return Math.max(0, Math.min(b.count, skipUpTo - b.firstSeq + 1));
}

/** What a set of buffers holds, counted as apply() counts it: its points' columns and string values. */
function setBytes(set: Map<string, SeriesBuffer>): number {
  let bytes = 0;
  for (const buf of set.values()) {
    bytes += buf.length * BUFFER_BYTES_PER_POINT;
    for (const s of buf.strs) if (s !== undefined) bytes += s.length * 2;
  }
  return bytes;
}

/** What the names at each position of the last batches resolved to, for the set they were resolved in. */
class ByPosition<T> {
  set: unknown;
  names: string[] = [];
  bufs: (T | undefined)[] = [];
  remember(set: unknown, k: number, name: string, value: T): void {
    if (this.set !== set) {
      this.set = set;
      this.names = [];
      this.bufs = [];
    }
    this.names[k] = name;
    this.bufs[k] = value;
  }
}

/** A batch's metadata ids in `dict` (0 = none, then one per text), the last batches' reused by position. */
class MetaIdsByPosition {
  private dict: MetaDict | undefined;
  private texts: string[] = [];
  private idOf: number[] = [];
  ids(metas: readonly string[], dict: MetaDict): Uint32Array {
    if (this.dict !== dict) {
      this.dict = dict;
      this.texts = [];
      this.idOf = [];
    }
    const out = new Uint32Array(metas.length + 1);
    out[0] = 0;
    for (let k = 0; k < metas.length; k++) {
      const m = metas[k] as string;
      if (this.texts[k] !== m) {
        this.texts[k] = m;
        this.idOf[k] = dict.intern(m);
      }
      out[k + 1] = this.idOf[k] as number;
    }
    return out;
  }
}

/**
 * The points a writer's active set reaches before a compaction takes it: the fewer of
 * compactPoints and what compactBytes holds (0 when neither bounds it, or for a reader).
 */
export function expectedSetPoints(o: {
  readOnly: boolean;
  compactPoints: number;
  compactBytes: number;
}): number {
  if (o.readOnly) return 0;
  const bounds = [o.compactPoints, Math.floor(o.compactBytes / BUFFER_BYTES_PER_POINT)].filter((n) => n > 0);
  return bounds.length > 0 ? Math.min(...bounds) : 0;
}
