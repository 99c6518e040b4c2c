/**
 * Placing many wide batches at once (a freeze of batches that each hold a point or a few for each
 * of many variables), 16 batches at a time: each point's row in its variable's buffer is found
 * batch by batch, in the order the buffers must hold the points, then the points are copied in
 * tiles of 256 positions of those 16 batches, so the buffers a tile writes stay in the
 * processor's cache across its batches; the 16 batches' records are dropped once copied. Copied
 * batch by batch, every point of a batch of 10,000 variables went to another buffer's five
 * columns, a cache miss each (2M points: 150 ms against 80 tiled, alone).
 */
import { type PointBatch, T_STRING } from './codec.ts';
import type { SeriesBuffer } from './series-buffer.ts';

/** One batch to place: its points from `first` on, their buffers by the batch's variable index, their metadata ids by its metadata index. */
export interface BatchToPlace {
  batch: PointBatch;
  first: number;
  bufs: (SeriesBuffer | undefined)[];
  metaIds: Uint32Array;
}

/** Batches copied together, and the positions of each copied together (see above). */
const TILE_BATCHES = 16;
const TILE_POINTS = 256;

/**
 * Copies every batch's points into their buffers (room already made), after the points the
 * buffers hold, 16 batches at a time: their rows found in order, then their points copied in
 * tiles; sets the buffers' lengths and drops each batch from `batches` once copied. Call
 * appended() on the buffers after.
 */
export function placeTiled(batches: (BatchToPlace | undefined)[]): void {
  for (let c = 0; c < batches.length; c += TILE_BATCHES) {
    const end = Math.min(batches.length, c + TILE_BATCHES);
    const tile = batches.slice(c, end) as BatchToPlace[];
    const rows = tile.map(rowsOf);
    let widest = 0;
    for (const { batch } of tile) widest = Math.max(widest, batch.count);
    for (let from = 0; from < widest; from += TILE_POINTS)
      for (let k = 0; k < tile.length; k++) copyRange(tile[k] as BatchToPlace, rows[k] as Uint32Array, from);
    // The records' memory can go once their points are copied (a freeze holds the set's block).
    for (let k = c; k < end; k++) batches[k] = undefined;
  }
}

/** Each point's row in its buffer (the buffers' lengths move past them), and its string value set. */
function rowsOf({ batch: b, first, bufs }: BatchToPlace): Uint32Array {
  const row = new Uint32Array(b.count);
  const { varIdx, type, strs } = b;
  const withStrings = strs.size > 0;
  for (let i = first; i < b.count; i++) {
    const buf = bufs[varIdx[i] as number] as SeriesBuffer;
    const j = buf.length++;
    row[i] = j;
    if (withStrings && type[i] === T_STRING) buf.strs[j] = strs.get(i);
  }
  return row;
}

/** Copies the batch's points at positions [from, from + TILE_POINTS) to their rows. */
function copyRange({ batch: b, first, bufs, metaIds }: BatchToPlace, row: Uint32Array, from: number): void {
  const { varIdx, micros, type, num, metaIdx, firstSeq } = b;
  const to = Math.min(b.count, from + TILE_POINTS);
  for (let i = Math.max(from, first); i < to; i++) {
    const buf = bufs[varIdx[i] as number] as SeriesBuffer;
    const j = row[i] as number;
    buf.micros[j] = micros[i] as number;
    buf.seq[j] = firstSeq + i;
    buf.type[j] = type[i] as number;
    buf.num[j] = num[i] as number;
    buf.metaIds[j] = metaIds[metaIdx[i] as number] as number;
  }
}
