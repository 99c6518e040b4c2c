/**
 * Frees the memory of buffers a compaction or merge is done with at once, not at the garbage
 * collection that would find them dead. Why: V8 counts array buffers as external memory and
 * collects them only once about 64 MiB more of it has been allocated, and glibc keeps much of
 * what such buffers free in its heap afterwards. A merge makes and drops hundreds of MiB of
 * pages, decoded runs and compressed chunks, so memory rose by 70–100 MiB at every merge and
 * stayed (issue #21; measured in docs/timeseries.md, Memory). `ArrayBuffer.prototype.transfer(0)`
 * detaches the buffer, and V8 frees its memory there and then.
 *
 * Only for a buffer its caller made or was handed whole and that nothing else reads: every view
 * of a released buffer reads as empty. Buffers of Node's shared pool (small `Buffer`s) are never
 * released, whatever view of them is passed.
 */

/** Buffers at most this large are left to the garbage collector: the pool's slabs are among them. */
const SMALLEST_RELEASED = 64 * 1024;

/** Releases the whole buffer under each view, when it is one of sluice's own (see above). */
export function releaseMemory(...views: (ArrayBufferView | undefined)[]): void {
  for (const view of views) {
    if (!view) continue;
    const b = view.buffer;
    if (
      !(b instanceof ArrayBuffer) ||
      b.detached ||
      b.byteLength <= Math.max(SMALLEST_RELEASED, Buffer.poolSize)
    )
      continue;
    b.transfer(0);
  }
}
