/**
 * Sorted column sets of points, as queries pass them around (segment reads decode into this
 * shape, buffers' sorted() makes it: series-buffer.ts), and how they are sliced and merged.
 */

/** Points of one variable, sorted by (micros, seq), duplicates resolved. */
export interface Columns {
  length: number;
  micros: Float64Array;
  seq: Float64Array;
  type: Uint8Array;
  num: Float64Array;
  /**
   * String values by index, only where type is string: sparse, and shorter than `length` when the
   * last rows hold none (a numeric run's is empty, not `length` holes of 8 bytes each).
   */
  strs: (string | undefined)[];
  /** Metadata JSON by index (undefined = none). */
  metas: (string | undefined)[];
  /**
   * Where set, metadata by id: row i's is `metaTexts.get(metaIds[i])`, and `metas` is made only
   * when something reads it. A buffer's sorted columns carry them so that a compaction's writer
   * maps ids to its file's texts instead of reading an array of 2M strings made for it.
   */
  metaIds?: Uint32Array;
  metaTexts?: MetaTexts;
}

/** Metadata texts by id (0 = none). */
export interface MetaTexts {
  get(id: number): string | undefined;
  /** Ids handed out so far, 0 included: every id is below it. */
  readonly size: number;
}

/** Row i's metadata text, through its id where the columns carry ids. */
export function metaAt(c: Columns, i: number): string | undefined {
  const ids = c.metaIds;
  return ids && c.metaTexts ? c.metaTexts.get(ids[i] as number) : c.metas[i];
}

/**
 * Columns with metadata ids, `metas` made from them on first read (then kept). A class, so every
 * such object has one shape.
 */
export class ColumnsByMetaId implements Columns {
  length: number;
  micros: Float64Array;
  seq: Float64Array;
  type: Uint8Array;
  num: Float64Array;
  strs: (string | undefined)[];
  metaIds: Uint32Array;
  metaTexts: MetaTexts;
  private made: (string | undefined)[] | undefined;
  constructor(
    c: Omit<Columns, 'metas' | 'metaIds' | 'metaTexts'>,
    metaIds: Uint32Array,
    metaTexts: MetaTexts,
  ) {
    this.length = c.length;
    this.micros = c.micros;
    this.seq = c.seq;
    this.type = c.type;
    this.num = c.num;
    this.strs = c.strs;
    this.metaIds = metaIds;
    this.metaTexts = metaTexts;
  }
  get metas(): (string | undefined)[] {
    if (this.made === undefined) {
      const n = this.length;
      const out: (string | undefined)[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.metaTexts.get(this.metaIds[i] as number);
      this.made = out;
    }
    return this.made;
  }
}

export function emptyColumns(): Columns {
  return {
    length: 0,
    micros: new Float64Array(0),
    seq: new Float64Array(0),
    type: new Uint8Array(0),
    num: new Float64Array(0),
    strs: [],
    metas: [],
  };
}

/** Columns of `src` in `order` (all rows when undefined), duplicates dropped unless kept. */
export function take(
  src: {
    micros: Float64Array;
    seq: Float64Array;
    type: Uint8Array;
    num: Float64Array;
    strs: (string | undefined)[];
  },
  order: Uint32Array | undefined,
  n: number,
  keepDuplicates: boolean,
  metaAt: (i: number) => string | undefined,
): Columns {
  const out: Columns = {
    length: 0,
    micros: new Float64Array(n),
    seq: new Float64Array(n),
    type: new Uint8Array(n),
    num: new Float64Array(n),
    strs: [],
    metas: [],
  };
  let k = 0;
  for (let j = 0; j < n; j++) {
    const i = order ? (order[j] as number) : j;
    const t = src.micros[i] as number;
    // Same timestamp as the previous kept point: the later write (higher seq, sorted after) wins.
    if (!keepDuplicates && k > 0 && out.micros[k - 1] === t) k--;
    out.micros[k] = t;
    out.seq[k] = src.seq[i] as number;
    out.type[k] = src.type[i] as number;
    out.num[k] = src.num[i] as number;
    const str = src.strs[i];
    // Only string rows have one (a slot a dropped duplicate filled is cleared).
    if (str !== undefined || k < out.strs.length) out.strs[k] = str;
    out.metas[k] = metaAt(i);
    k++;
  }
  out.length = k;
  if (out.strs.length > k) out.strs.length = k;
  out.metas.length = k;
  return out;
}

/** First index with micros ≥ t. */
export function lowerBound(c: Columns, t: number): number {
  let lo = 0;
  let hi = c.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((c.micros[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Merges sorted column sets, older sources first: on equal timestamps the later source (and
 * within one, the higher seq) wins unless duplicates are kept.
 */
export function mergeColumns(sources: Columns[], keepDuplicates: boolean): Columns {
  const nonEmpty = sources.filter((s) => s.length > 0);
  if (nonEmpty.length === 0) return emptyColumns();
  if (nonEmpty.length === 1) return nonEmpty[0] as Columns;
  const total = nonEmpty.reduce((s, c) => s + c.length, 0);
  if (disjointInOrder(nonEmpty)) return concatColumns(nonEmpty, total);
  const all = {
    micros: new Float64Array(total),
    seq: new Float64Array(total),
    type: new Uint8Array(total),
    num: new Float64Array(total),
    strs: [] as (string | undefined)[],
    metas: [] as (string | undefined)[],
  };
  const rank = new Float64Array(total);
  let o = 0;
  nonEmpty.forEach((c, si) => {
    all.micros.set(c.micros.subarray(0, c.length), o);
    all.seq.set(c.seq.subarray(0, c.length), o);
    all.type.set(c.type.subarray(0, c.length), o);
    all.num.set(c.num.subarray(0, c.length), o);
    for (let i = 0; i < c.length; i++) {
      const str = c.strs[i];
      if (str !== undefined) all.strs[o + i] = str;
      all.metas[o + i] = c.metas[i];
      rank[o + i] = si;
    }
    o += c.length;
  });
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const m = all.micros;
  order.sort(
    (a, b) =>
      (m[a] as number) - (m[b] as number) ||
      (rank[a] as number) - (rank[b] as number) ||
      (all.seq[a] as number) - (all.seq[b] as number),
  );
  return take(all, order, total, keepDuplicates, (i) => all.metas[i]);
}

/** The slice [from, to) of sorted columns, without copying. */
export function sliceColumns(c: Columns, from: number, to: number): Columns {
  const a = lowerBound(c, from);
  const b = lowerBound(c, to);
  if (a === 0 && b === c.length) return c;
  const cut = {
    length: b - a,
    micros: c.micros.subarray(a, b),
    seq: c.seq.subarray(a, b),
    type: c.type.subarray(a, b),
    num: c.num.subarray(a, b),
    strs: c.strs.slice(a, b),
  };
  if (c.metaIds && c.metaTexts) return new ColumnsByMetaId(cut, c.metaIds.subarray(a, b), c.metaTexts);
  return { ...cut, metas: c.metas.slice(a, b) };
}

function disjointInOrder(cs: Columns[]): boolean {
  for (let i = 1; i < cs.length; i++) {
    const prev = cs[i - 1] as Columns;
    if ((prev.micros[prev.length - 1] as number) >= ((cs[i] as Columns).micros[0] as number)) return false;
  }
  return true;
}

function concatColumns(cs: Columns[], total: number): Columns {
  const out: Columns = {
    length: total,
    micros: new Float64Array(total),
    seq: new Float64Array(total),
    type: new Uint8Array(total),
    num: new Float64Array(total),
    strs: [],
    metas: [],
  };
  let o = 0;
  for (const c of cs) {
    out.micros.set(c.micros.subarray(0, c.length), o);
    out.seq.set(c.seq.subarray(0, c.length), o);
    out.type.set(c.type.subarray(0, c.length), o);
    out.num.set(c.num.subarray(0, c.length), o);
    for (let i = 0; i < c.length; i++) {
      const str = c.strs[i];
      if (str !== undefined) out.strs[o + i] = str;
      out.metas[o + i] = c.metas[i];
    }
    o += c.length;
  }
  return out;
}
