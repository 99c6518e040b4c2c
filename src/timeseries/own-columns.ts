/**
 * Copies of columns for what outlives the memory they are views into (the writer's cache of the
 * runs it has just written, which must not keep a compacted set's block alive).
 */
import type { Columns } from './columns.ts';
import { BUFFER_BYTES_PER_POINT } from './series-buffer.ts';

/**
 * `c` with typed columns of its own when its columns are views into a much larger block (a set's
 * buffers share one: buffers.ts); else `c` itself. What a cache keeps must not hold such a block
 * alive: one cached run would keep a whole compacted set's memory.
 */
export function ownColumns(c: Columns): Columns {
  const need = c.length * BUFFER_BYTES_PER_POINT;
  if (c.micros.buffer.byteLength <= 2 * need + 64) return c;
  const n = c.length;
  const block = new ArrayBuffer(25 * n);
  const micros = new Float64Array(block, 0, n);
  const seq = new Float64Array(block, 8 * n, n);
  const num = new Float64Array(block, 16 * n, n);
  const type = new Uint8Array(block, 24 * n, n);
  micros.set(c.micros.subarray(0, n));
  seq.set(c.seq.subarray(0, n));
  num.set(c.num.subarray(0, n));
  type.set(c.type.subarray(0, n));
  return { length: n, micros, seq, type, num, strs: c.strs, metas: c.metas };
}
