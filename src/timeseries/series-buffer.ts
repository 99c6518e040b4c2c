/**
 * The per-variable buffer of not-yet-compacted points (buffers.ts keeps a set of them) and the
 * metadata dictionary its points' ids point into.
 */
import { T_STRING } from './codec.ts';
import { type Columns, ColumnsByMetaId, type MetaTexts, take } from './columns.ts';

/**
 * Distinct metadata JSON strings of a store, by id (0 = none). Buffers keep a u32 id per point
 * instead of a string reference: cheaper to append and nothing for the GC to trace.
 */
export class MetaDict implements MetaTexts {
  private readonly ids = new Map<string, number>();
  private readonly values: (string | undefined)[] = [undefined];
  intern(json: string): number {
    let id = this.ids.get(json);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(json);
      this.ids.set(json, id);
    }
    return id;
  }
  get(id: number): string | undefined {
    return this.values[id];
  }
  get size(): number {
    return this.values.length;
  }
}

/** The columns of a buffer made empty (shared: never written, reserve() replaces them). */
const NO_F64 = new Float64Array(0);
const NO_U8 = new Uint8Array(0);
const NO_U32 = new Uint32Array(0);

/** Append-only buffer for one variable; points arrive in any timestamp order. */
export class SeriesBuffer {
  length = 0;
  micros: Float64Array;
  seq: Float64Array;
  type: Uint8Array;
  num: Float64Array;
  metaIds: Uint32Array;
  strs: (string | undefined)[] = [];
  readonly dict: MetaDict;
  private inOrder = true;
  /** Every timestamp greater than the one before (then sorted() needs no duplicate pass). */
  private increasing = true;
  private sortedCache: Columns | undefined;
  minMicros = Number.POSITIVE_INFINITY;
  maxMicros = Number.NEGATIVE_INFINITY;
  /** Points a distribution is about to place here (buffers.ts), counted before room is made. */
  incoming = 0;

  /** `capacity`: points it holds before it first grows (0: no arrays until reserve() says how many). */
  constructor(dict: MetaDict, capacity = 64) {
    this.dict = dict;
    this.micros = NO_F64;
    this.seq = NO_F64;
    this.type = NO_U8;
    this.num = NO_F64;
    this.metaIds = NO_U32;
    if (capacity > 0) this.reserve(capacity);
  }

  metaAt(i: number): string | undefined {
    return this.dict.get(this.metaIds[i] as number);
  }

  push(micros: number, seq: number, type: number, num: number, str: string | undefined, metaId: number) {
    if (this.length === this.micros.length) this.reserve(1);
    if (type === T_STRING) this.strs[this.length] = str;
    this.pushReserved(micros, seq, type, num, metaId);
    this.sortedCache = undefined;
  }

  /**
   * Makes room for `n` more points (then pushReserved, then touched): an empty buffer gets exactly
   * that, a filling one twice its capacity (see grownCapacity).
   */
  reserve(n: number): void {
    const cap = this.grownCapacity(n);
    if (cap > 0) this.adopt(new ArrayBuffer(columnBlockBytes(cap)), 0, cap);
  }

  /**
   * The capacity to move to for `n` more points, or 0 when they fit: an empty buffer's is exactly
   * what it needs, a filling one's twice its capacity. Buffers grow batch by batch as the log
   * distributes them (buffers.ts): doubling copies each point about once; growing by half again
   * copied more and left more freed blocks behind (peak memory 10 MiB higher at 2M points).
   */
  grownCapacity(n: number): number {
    const need = this.length + n;
    if (need <= this.micros.length) return 0;
    return this.length === 0 ? need : Math.max(need, this.micros.length * 2, 16);
  }

  /**
   * Moves the columns to `block` from byte `at` (columnBlockBytes(capacity) bytes, 8-aligned), the
   * points held so far copied. One block for all five columns: a fifth of the allocations, and
   * buffers.ts gives a whole set's buffers one block (see its distribute()).
   */
  adopt(block: ArrayBuffer, at: number, capacity: number): void {
    const keep = this.length;
    const micros = new Float64Array(block, at, capacity);
    const seq = new Float64Array(block, at + 8 * capacity, capacity);
    const num = new Float64Array(block, at + 16 * capacity, capacity);
    const metaIds = new Uint32Array(block, at + 24 * capacity, capacity);
    const type = new Uint8Array(block, at + 28 * capacity, capacity);
    if (keep > 0) {
      micros.set(this.micros.subarray(0, keep));
      seq.set(this.seq.subarray(0, keep));
      num.set(this.num.subarray(0, keep));
      metaIds.set(this.metaIds.subarray(0, keep));
      type.set(this.type.subarray(0, keep));
    }
    this.micros = micros;
    this.seq = seq;
    this.num = num;
    this.metaIds = metaIds;
    this.type = type;
  }

  /** push() for a point whose room reserve() made (its string, if any, set by the caller); call touched() after the last one. */
  pushReserved(micros: number, seq: number, type: number, num: number, metaId: number) {
    const i = this.length;
    if (i > 0) {
      const prev = this.micros[i - 1] as number;
      if (micros <= prev) {
        this.increasing = false;
        if (micros < prev) this.inOrder = false;
      }
    }
    this.micros[i] = micros;
    this.seq[i] = seq;
    this.type[i] = type;
    this.num[i] = num;
    this.metaIds[i] = metaId;
    if (micros < this.minMicros) this.minMicros = micros;
    if (micros > this.maxMicros) this.maxMicros = micros;
    this.length = i + 1;
  }

  touched(): void {
    this.sortedCache = undefined;
  }

  /**
   * Points from index `from` on were written straight into the columns (buffers.ts, in seq order):
   * notes their order and range, as pushReserved does point by point, in one pass over them.
   */
  appended(from: number): void {
    const m = this.micros;
    const n = this.length;
    let prev = from > 0 ? (m[from - 1] as number) : Number.NEGATIVE_INFINITY;
    let min = this.minMicros;
    let max = this.maxMicros;
    let increasing = this.increasing;
    let inOrder = this.inOrder;
    for (let i = from; i < n; i++) {
      const t = m[i] as number;
      if (t <= prev) {
        increasing = false;
        if (t < prev) inOrder = false;
      }
      if (t < min) min = t;
      if (t > max) max = t;
      prev = t;
    }
    this.minMicros = min;
    this.maxMicros = max;
    this.increasing = increasing;
    this.inOrder = inOrder;
    this.sortedCache = undefined;
  }

  /** Sorted by (micros, seq); with `keepDuplicates` false only the highest seq per timestamp stays. */
  sorted(keepDuplicates: boolean): Columns {
    if (this.sortedCache) return this.sortedCache;
    const n = this.length;
    // Points pushed in seq order: already sorted when their timestamps never go back, and free of
    // duplicates when they always go forward. Then the columns are views, not copies: later
    // pushes write past n, and growing replaces the arrays rather than changing them.
    if (this.increasing || (this.inOrder && keepDuplicates)) {
      this.sortedCache = new ColumnsByMetaId(
        {
          length: n,
          micros: this.micros.subarray(0, n),
          seq: this.seq.subarray(0, n),
          type: this.type.subarray(0, n),
          num: this.num.subarray(0, n),
          strs: this.strs.length === 0 ? [] : this.strs.slice(0, n),
        },
        this.metaIds.subarray(0, n),
        this.dict,
      );
      return this.sortedCache;
    }
    let order: Uint32Array | undefined;
    if (!this.inOrder) {
      order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      const m = this.micros;
      const s = this.seq;
      order.sort((a, b) => (m[a] as number) - (m[b] as number) || (s[a] as number) - (s[b] as number));
    }
    const cols = take(this, order, n, keepDuplicates, (i) => this.metaAt(i));
    this.sortedCache = cols;
    return cols;
  }
}

/** What a buffered point's columns take: micros, seq and number (f64 each), type (u8), metadata id (u32). */
export const BUFFER_BYTES_PER_POINT = 29;

/** Bytes of one block holding a buffer's five columns for `capacity` points (a multiple of 8, so blocks can follow one another). */
export function columnBlockBytes(capacity: number): number {
  return Math.ceil((capacity * BUFFER_BYTES_PER_POINT) / 8) * 8;
}
