/**
 * Parquet value encodings a segment file needs: the RLE / bit-packed hybrid (definition levels and
 * dictionary indices), PLAIN for int64, int32, double and byte arrays.
 */

import { releaseMemory } from './release.ts';

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
  private readonly releases: boolean;
  /**
   * `releaseOnGrow`: nothing holds a view of its memory while it is written (what done() returns
   * is taken at the end), so the memory it grows out of is freed at once (release.ts).
   */
  constructor(capacity = 1024, releaseOnGrow = false) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.releases = releaseOnGrow;
  }
  room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    if (this.releases) releaseMemory(this.buf);
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

/** Typed views write in the platform's byte order; Parquet's is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** `out`'s next `bytes` bytes as 32-bit words, when they start on a 4-byte boundary (else undefined). */
function words(out: Bytes, bytes: number): Int32Array | undefined {
  const at = out.buf.byteOffset + out.n;
  return LITTLE_ENDIAN && at % 4 === 0 ? new Int32Array(out.buf.buffer, at, bytes / 4) : undefined;
}

/**
 * PLAIN int64 of integral doubles below 2^53 in magnitude (µs timestamps). Two 32-bit words a
 * value through a typed view: a third of the time of two checked Buffer writes a value.
 */
export function plainInt64(values: Float64Array, from: number, to: number, out: Bytes): void {
  out.room((to - from) * 8);
  const w = words(out, (to - from) * 8);
  if (w) {
    for (let i = from, k = 0; i < to; i++, k += 2) {
      const v = values[i] as number;
      const hi = Math.floor(v / 4294967296);
      // The low word is in [0, 2^32); the view stores it modulo 2^32, which is its bit pattern.
      w[k] = v - hi * 4294967296;
      w[k + 1] = hi;
    }
    out.n += (to - from) * 8;
    return;
  }
  const buf = out.buf;
  for (let i = from; i < to; i++) {
    const v = values[i] as number;
    const hi = Math.floor(v / 4294967296);
    buf.writeUInt32LE(v - hi * 4294967296, out.n);
    buf.writeInt32LE(hi, out.n + 4);
    out.n += 8;
  }
}

/** PLAIN int32 of small unsigned integers (one typed-array copy converts them). */
export function plainInt32(values: Uint8Array, from: number, to: number, out: Bytes): void {
  out.room((to - from) * 4);
  const w = words(out, (to - from) * 4);
  if (w) {
    w.set(values.subarray(from, to));
    out.n += (to - from) * 4;
    return;
  }
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

/**
 * Distinct doubles in first-use order, keyed by their bit pattern (so -0 and 0 are distinct, as a
 * dictionary page needs them), every NaN one entry. An open-addressing table on typed arrays (a
 * Map keyed by number cost most of a value column's encoding), sized by the values it holds, not
 * by how many it may hold: a few thousand distinct readings stay in the processor's cache.
 */
export class DoubleIds {
  /** The distinct values, in first-use order (valid until the next reset()). */
  values: number[] = [];
  private bits = 0;
  /** Per slot: the value's low and high word, and its id + 1 (0: empty). */
  private slots = new Int32Array(0);
  private readonly f = new Float64Array(1);
  private readonly u = new Int32Array(this.f.buffer);
  private nanId = -1;

  /** Empties it. */
  reset(): void {
    this.values = [];
    this.nanId = -1;
    this.resize(10);
  }

  /** Frees its table's memory (release.ts); reset() makes a new one. */
  release(): void {
    releaseMemory(this.slots);
    this.slots = new Int32Array(0);
  }

  private resize(bits: number): void {
    this.bits = bits;
    if (this.slots.length < 3 << bits) this.slots = new Int32Array(3 << bits);
    else this.slots.fill(0, 0, 3 << bits);
  }

  private slotOf(lo: number, hi: number): number {
    const mask = (1 << this.bits) - 1;
    let s = (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi ^ (hi >>> 16), 0x85ebca77)) >>> (32 - this.bits);
    const t = this.slots;
    while (t[3 * s + 2] !== 0 && (t[3 * s] !== lo || t[3 * s + 1] !== hi)) s = (s + 1) & mask;
    return 3 * s;
  }

  /** The id of `v`, added if new. */
  id(v: number): number {
    if (Number.isNaN(v)) {
      if (this.nanId < 0) this.nanId = this.values.push(v) - 1;
      return this.nanId;
    }
    this.f[0] = v;
    const lo = this.u[0] as number;
    const hi = this.u[1] as number;
    let at = this.slotOf(lo, hi);
    const t = this.slots;
    if (t[at + 2] !== 0) return (t[at + 2] as number) - 1;
    const id = this.values.push(v) - 1;
    // At most half full: probes stay short.
    if (2 * this.values.length > 1 << this.bits) {
      this.grow();
      at = this.slotOf(lo, hi);
    }
    const s = this.slots;
    s[at] = lo;
    s[at + 1] = hi;
    s[at + 2] = id + 1;
    return id;
  }

  /** Doubles the table, putting back every value held (NaN is kept aside, never in it). */
  private grow(): void {
    this.resize(this.bits + 1);
    const t = this.slots;
    const values = this.values;
    // The newest value is placed by the caller.
    for (let id = 0; id < values.length - 1; id++) {
      if (id === this.nanId) continue;
      this.f[0] = values[id] as number;
      const lo = this.u[0] as number;
      const hi = this.u[1] as number;
      const at = this.slotOf(lo, hi);
      t[at] = lo;
      t[at + 1] = hi;
      t[at + 2] = id + 1;
    }
  }
}
