/**
 * Parquet value encodings a segment file needs: the RLE / bit-packed hybrid (definition levels and
 * dictionary indices), PLAIN for int64, int32, double and byte arrays.
 */

/** Bits needed for values 0..max (at least 1: some readers refuse a bit width of 0). */
export function bitWidthOf(max: number): number {
  let w = 1;
  while (w < 32 && max >= 2 ** w) w++;
  return w;
}

/** A growable byte buffer. */
export class Bytes {
  buf: Buffer;
  n = 0;
  constructor(capacity = 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }
  room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }
  varint(u: number): void {
    this.room(10);
    while (u >= 0x80) {
      this.buf[this.n++] = (u % 0x80) | 0x80;
      u = Math.floor(u / 0x80);
    }
    this.buf[this.n++] = u;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.n);
  }
  /** Empties it for reuse, keeping its memory (what done() returned before is overwritten). */
  reset(): this {
    this.n = 0;
    return this;
  }
}

/** A Uint32Array of at least `n` entries: `held`, or a larger one replacing it (contents not kept). */
export function atLeast(held: Uint32Array<ArrayBuffer>, n: number): Uint32Array<ArrayBuffer> {
  return held.length >= n ? held : new Uint32Array(Math.max(n, held.length * 2));
}

/** Shortest repeat written as an RLE run; shorter ones are bit-packed with their neighbours. */
const MIN_RUN = 8;

/**
 * `values[from, to)` in the RLE / bit-packed hybrid at `width` bits (without the length prefix a
 * data page puts before definition levels). Runs of MIN_RUN or more equal values become RLE runs;
 * the rest is bit-packed in groups of 8, padded with zeros only at the very end.
 */
export function rleHybrid(values: Uint32Array, from: number, to: number, width: number, out: Bytes): void {
  const valueBytes = Math.ceil(width / 8);
  let i = from;
  while (i < to) {
    const v = values[i] as number;
    let j = i + 1;
    while (j < to && values[j] === v) j++;
    if (j - i >= MIN_RUN) {
      out.varint((j - i) * 2);
      for (let b = 0, x = v; b < valueBytes; b++, x = Math.floor(x / 256)) out.byte(x % 256);
      i = j;
      continue;
    }
    // Bit-packed groups of 8 until a run of MIN_RUN starts at a group boundary (or the end).
    let end = i;
    do {
      end = Math.min(end + 8, to);
      if (end >= to) break;
      let r = end + 1;
      while (r < to && r - end < MIN_RUN && values[r] === values[end]) r++;
      if (r - end >= MIN_RUN) break;
    } while (end < to);
    const groups = Math.ceil((end - i) / 8);
    out.varint(groups * 2 + 1);
    bitPack(values, i, end, groups * 8, width, out);
    i = end;
  }
}

/** `values[from, to)` packed LSB first at `width` bits, padded with zeros to `count` values. */
function bitPack(
  values: Uint32Array,
  from: number,
  to: number,
  count: number,
  width: number,
  out: Bytes,
): void {
  out.room(Math.ceil((count * width) / 8));
  const buf = out.buf;
  let n = out.n;
  let acc = 0;
  let bits = 0;
  if (width <= 24) {
    // The accumulator stays below 2^(width + 7) ≤ 2^31: 32-bit integer operations are exact.
    for (let k = 0; k < count; k++) {
      const v = from + k < to ? (values[from + k] as number) : 0;
      acc |= v << bits;
      bits += width;
      while (bits >= 8) {
        buf[n++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
    if (bits > 0) buf[n++] = acc;
    out.n = n;
    return;
  }
  // Wider: the accumulator reaches 2^39, exact in a double but not in 32-bit operations.
  for (let k = 0; k < count; k++) {
    const v = from + k < to ? (values[from + k] as number) : 0;
    acc += v * 2 ** bits;
    bits += width;
    while (bits >= 8) {
      buf[n++] = acc % 256;
      acc = Math.floor(acc / 256);
      bits -= 8;
    }
  }
  if (bits > 0) buf[n++] = acc;
  out.n = n;
}

/** PLAIN int64 of integral doubles below 2^53 in magnitude (µs timestamps). */
export function plainInt64(values: Float64Array, from: number, to: number, out: Bytes): void {
  out.room((to - from) * 8);
  const buf = out.buf;
  for (let i = from; i < to; i++) {
    const v = values[i] as number;
    const hi = Math.floor(v / 4294967296);
    buf.writeUInt32LE(v - hi * 4294967296, out.n);
    buf.writeInt32LE(hi, out.n + 4);
    out.n += 8;
  }
}

/** PLAIN int32 of small unsigned integers. */
export function plainInt32(values: Uint8Array, from: number, to: number, out: Bytes): void {
  out.room((to - from) * 4);
  const buf = out.buf;
  for (let i = from; i < to; i++) {
    buf.writeInt32LE(values[i] as number, out.n);
    out.n += 4;
  }
}

/** PLAIN doubles (bit for bit, -0 and all). */
export function plainDoubles(values: ArrayLike<number>, out: Bytes): void {
  out.room(values.length * 8);
  for (let i = 0; i < values.length; i++) {
    out.buf.writeDoubleLE(values[i] as number, out.n);
    out.n += 8;
  }
}

/** PLAIN byte arrays: each a 4-byte little-endian length and its bytes. */
export function plainByteArrays(values: readonly Uint8Array[], out: Bytes): void {
  for (const v of values) {
    out.room(4 + v.length);
    out.buf.writeUInt32LE(v.length, out.n);
    out.buf.set(v, out.n + 4);
    out.n += 4 + v.length;
  }
}
