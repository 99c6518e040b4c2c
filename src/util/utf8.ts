/**
 * Strict UTF-8 decoding for readers that must refuse, not repair, bad bytes: TextDecoder's
 * default turns them into U+FFFD, which silently changes the data. The BOM is kept in the output
 * (`ignoreBOM: true`) because a decoder that drops it would also drop one in the middle of a
 * file split into chunks; readers skip a leading BOM themselves.
 */

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text, or undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

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

/** Index of the first byte that starts an invalid UTF-8 sequence (b.length when all are valid). */
export function firstInvalidUtf8(b: Uint8Array): number {
  // Only runs once, on bytes already known to be bad, so a byte walk is fast enough.
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    const len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (len === 0 || (len > 1 && decodeUtf8(b.subarray(i, i + len)) === undefined)) return i;
    i += len;
  }
  return b.length;
}

/**
 * Where the first invalid byte of `bytes` is: its index, line, and column in characters (the
 * bytes before it are valid, so they decode). `bytes` start at `firstLine`/`firstColumn`.
 */
export function locateInvalidUtf8(
  bytes: Uint8Array,
  firstLine: number,
  firstColumn = 1,
): { index: number; byte: number; line: number; column: number } {
  const index = firstInvalidUtf8(bytes);
  let line = firstLine;
  let lineStart = -1;
  for (let nl = bytes.indexOf(10); nl >= 0 && nl < index; nl = bytes.indexOf(10, nl + 1)) {
    line++;
    lineStart = nl;
  }
  const before = decodeUtf8(bytes.subarray(lineStart + 1, index))?.length ?? 0;
  const column = (lineStart >= 0 ? 1 : firstColumn) + before;
  return { index, byte: bytes[index] ?? 0, line, column };
}

/**
 * Decodes a stream chunk by chunk, carrying a sequence split across chunks into the next. On bad
 * bytes `decode` returns undefined and `failed` holds the bytes that were being decoded (the
 * carry from the previous chunk first), which start right after the text returned so far.
 */
export class Utf8ChunkDecoder {
  private carry: Uint8Array | undefined;
  failed: Uint8Array | undefined;

  decode(chunk: Uint8Array): string | undefined {
    let data = chunk;
    if (this.carry) {
      data = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    const cut = completeUtf8Length(data);
    const text = decodeUtf8(cut === data.length ? data : data.subarray(0, cut));
    if (text === undefined) {
      this.failed = data;
      return undefined;
    }
    if (cut < data.length) this.carry = Uint8Array.from(data.subarray(cut));
    return text;
  }

  /** Ends the input: the bytes of an incomplete last sequence (invalid), or undefined. */
  end(): Uint8Array | undefined {
    const carry = this.carry;
    this.carry = undefined;
    return carry;
  }
}
