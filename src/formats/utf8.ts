/** UTF-8 helpers for readers that validate bytes before decoding them. */
import { isUtf8 } from 'node:buffer';

// One home for these two: util/utf8.ts (the JSON readers and the line splitter use them too).
import { completeUtf8Length } from '../util/utf8.ts';

export { completeUtf8Length, firstInvalidUtf8 } from '../util/utf8.ts';

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
