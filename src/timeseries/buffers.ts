/** The per-variable buffers of not-yet-compacted points, and the set frozen by a running compaction. */
import type { PointBatch } from './codec.ts';
import { MetaDict, SeriesBuffer } from './columns.ts';

export class PointBuffers {
  active = new Map<string, SeriesBuffer>();
  frozen: Map<string, SeriesBuffer> | undefined;
  buffered = 0;
  private readonly dict = new MetaDict();

  reset(): void {
    this.active = new Map();
    this.buffered = 0;
  }

  /** Hands the active set to a compaction; new points go to a fresh set. */
  freeze(): Map<string, SeriesBuffer> {
    const f = this.active;
    this.frozen = f;
    this.active = new Map();
    this.buffered = 0;
    return f;
  }

  /** A compaction succeeded: the frozen points are in published segments now. */
  dropFrozen(): void {
    this.frozen = undefined;
  }

  /** Appends a committed batch; points with seq ≤ skipUpTo are already in segments. */
  apply(b: PointBatch, skipUpTo = 0): void {
    // One map lookup per variable and per distinct metadata of the batch, not per point.
    const bufs = b.vars.map((variable) => this.bufferFor(variable));
    const metaIds = [0, ...b.metas.map((m) => this.dict.intern(m))];
    if (b.count === 1) {
      // Single points carry plain arrays; keeping them out of the loop below keeps it monomorphic.
      if (b.firstSeq > skipUpTo) {
        const mi = b.metaIdx[0] as number;
        const s = b.strs.get(0);
        (bufs[0] as SeriesBuffer).push(
          b.micros[0] as number,
          b.firstSeq,
          b.type[0] as number,
          b.num[0] as number,
          s,
          metaIds[mi] as number,
        );
      }
      this.buffered += 1;
      return;
    }
    const { varIdx, micros, type, num, metaIdx, strs, firstSeq } = b;
    if (skipUpTo < firstSeq && strs.size === 0) {
      // Hot path: reserve once per variable, then plain stores (no strings to place).
      const counts = new Uint32Array(bufs.length);
      for (let i = 0; i < b.count; i++) {
        const v = varIdx[i] as number;
        counts[v] = (counts[v] as number) + 1;
      }
      for (let v = 0; v < bufs.length; v++) (bufs[v] as SeriesBuffer).reserve(counts[v] as number);
      for (let i = 0; i < b.count; i++) {
        (bufs[varIdx[i] as number] as SeriesBuffer).pushReserved(
          micros[i] as number,
          firstSeq + i,
          type[i] as number,
          num[i] as number,
          metaIds[metaIdx[i] as number] as number,
        );
      }
      for (const buf of bufs) buf.touched();
      this.buffered += b.count;
      return;
    }
    for (let i = 0; i < b.count; i++) {
      const seq = firstSeq + i;
      if (seq <= skipUpTo) continue;
      (bufs[varIdx[i] as number] as SeriesBuffer).push(
        micros[i] as number,
        seq,
        type[i] as number,
        num[i] as number,
        strs.size === 0 ? undefined : strs.get(i),
        metaIds[metaIdx[i] as number] as number,
      );
    }
    this.buffered += b.count;
  }

  bufferFor(variable: string): SeriesBuffer {
    let buf = this.active.get(variable);
    if (!buf) {
      buf = new SeriesBuffer(this.dict);
      this.active.set(variable, buf);
    }
    return buf;
  }

  /** A failed compaction: frozen points go back to the active set, with what arrived since. */
  unfreeze(): void {
    const frozen = this.frozen;
    this.frozen = undefined;
    if (!frozen) return;
    const newer = this.active;
    this.active = frozen;
    for (const [variable, buf] of newer) {
      const into = this.bufferFor(variable);
      for (let i = 0; i < buf.length; i++) {
        into.push(
          buf.micros[i] as number,
          buf.seq[i] as number,
          buf.type[i] as number,
          buf.num[i] as number,
          buf.strs[i],
          buf.metaIds[i] as number,
        );
      }
    }
    this.buffered = [...this.active.values()].reduce((s, b) => s + b.length, 0);
  }
}
