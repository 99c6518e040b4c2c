/** UTF-8 helpers for readers that validate bytes before decoding them. */
import { isUtf8 } from 'node:buffer';

/** Length of `b` without a trailing, still incomplete UTF-8 sequence (at most 3 bytes). */
export function completeUtf8Length(b: Uint8Array): number {
  const n = b.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const c = b[n - back] as number;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** Index of the first byte that starts an invalid UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Binary search on prefixes that end on a character boundary would be faster; this only runs
  // once, on the failing chunk.
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    const len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (len === 0) return i;
    if (len > 1) {
      try {
        decoder.decode(b.subarray(i, i + len));
      } catch {
        return i;
      }
    }
    i += len;
  }
  return b.length;
}

/** Checks a byte stream chunk by chunk, holding back a sequence split across chunks. */
export class Utf8Checker {
  private carry: Uint8Array | undefined;

  /**
   * `offset` is the file offset of `bytes`. Returns the bytes that hold the first invalid
   * sequence (carry included) and their offset, or undefined when all is valid so far.
   */
  push(bytes: Uint8Array, offset: number): { bytes: Uint8Array; offset: number } | undefined {
    let data = bytes;
    let start = offset;
    if (this.carry) {
      data = Buffer.concat([this.carry, bytes]);
      start -= this.carry.length;
      this.carry = undefined;
    }
    const cut = completeUtf8Length(data);
    const whole = cut === data.length ? data : data.subarray(0, cut);
    if (!isUtf8(whole)) return { bytes: whole, offset: start };
    if (cut < data.length) this.carry = Uint8Array.from(data.subarray(cut));
    return undefined;
  }

  /** At the end of input: a sequence still unfinished is invalid. */
  end(offset: number): { bytes: Uint8Array; offset: number } | undefined {
    const carry = this.carry;
    this.carry = undefined;
    return carry ? { bytes: carry, offset: offset - carry.length } : undefined;
  }
}
