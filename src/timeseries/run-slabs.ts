/**
 * The typed columns of a merge's decoded runs (merge-inputs.ts readRun), short ones cut from
 * shared slabs. A merge of 10,000 variables reads tens of thousands of runs of a few hundred rows;
 * four typed arrays each made as many small allocations, freed by the garbage collector in no
 * order, and glibc's heap kept what they scattered (it grew by ~60 MiB at a window's first merge
 * and stayed there). Runs are read and written in order, so a slab's runs are done with together:
 * once the last of them is released, the slab's memory is freed at once (parquet/release.ts).
 */
import type { Columns } from './columns.ts';
import { releaseMemory } from './parquet/release.ts';
import { newColumns, releaseColumns } from './segment-columns.ts';

/** Rows a slab holds: 1.6 MiB (µs, seq and value as f64, type u8). */
const SLAB_ROWS = 65_536;
/** Runs longer than this get columns of their own (a slab would hold few of them). */
const MOST_SLAB_RUN = SLAB_ROWS / 4;

class Slab {
  readonly micros: Float64Array;
  readonly seq: Float64Array;
  readonly num: Float64Array;
  readonly type: Uint8Array;
  /** Rows handed out, and runs handed out and not yet released. */
  used = 0;
  live = 0;
  constructor() {
    const block = new ArrayBuffer(25 * SLAB_ROWS);
    this.micros = new Float64Array(block, 0, SLAB_ROWS);
    this.seq = new Float64Array(block, 8 * SLAB_ROWS, SLAB_ROWS);
    this.num = new Float64Array(block, 16 * SLAB_ROWS, SLAB_ROWS);
    this.type = new Uint8Array(block, 24 * SLAB_ROWS, SLAB_ROWS);
  }
  /** Frees the whole block (every view of it reads as empty after). */
  free(): void {
    releaseMemory(this.micros);
  }
}

export class RunSlabs {
  private current: Slab | undefined;
  /** The slab of each run cut from one, by its µs column. */
  private readonly slabOf = new WeakMap<Float64Array, Slab>();

  /** Zeroed columns of `total` rows (as newColumns makes), with `texts` as their string arrays. */
  columns(total: number, texts: Pick<Columns, 'strs' | 'metas'>): Columns {
    if (total > MOST_SLAB_RUN) return newColumns(total, texts);
    let s = this.current;
    if (!s || s.used + total > SLAB_ROWS) {
      if (s && s.live === 0) s.free();
      s = new Slab();
      this.current = s;
    }
    const a = s.used;
    const b = a + total;
    s.used = b;
    s.live++;
    const micros = s.micros.subarray(a, b);
    this.slabOf.set(micros, s);
    return {
      length: total,
      micros,
      seq: s.seq.subarray(a, b),
      type: s.type.subarray(a, b),
      num: s.num.subarray(a, b),
      ...texts,
    };
  }

  /**
   * Releases columns `columns` made, which nothing reads any more: a run of its own at once, a
   * slab once its last run is released and no more are cut from it.
   */
  release(c: Columns): void {
    const s = this.slabOf.get(c.micros);
    if (!s) {
      releaseColumns(c);
      return;
    }
    this.slabOf.delete(c.micros);
    s.live--;
    if (s.live === 0 && s !== this.current) s.free();
  }

  /** Frees the slab runs are cut from, when none of its runs is still held. */
  close(): void {
    if (this.current?.live === 0) this.current.free();
    this.current = undefined;
  }
}
