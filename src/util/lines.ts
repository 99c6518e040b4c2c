/**
 * The bounded line splitter every line-based reader uses (JSONL format reader, the poller's
 * JSONL, `ts import`). Linear in the input: a chunk is searched once, and a line spanning many
 * chunks is kept as a list of them and joined once, when its end arrives (appending each chunk
 * to one string and searching it from the start again was quadratic: a 70 MB line took two
 * minutes). Lines end with LF or CRLF; the last one may lack it. Bytes must be UTF-8 (decoded
 * with a fatal decoder, never repaired to U+FFFD); a leading BOM is skipped. A line longer than
 * `maxLineBytes` is FormatError E021 before it is held whole.
 */
import type { SluiceError } from '../errors.ts';
import { formatErrorAt, invalidUtf8Error } from './format-error-at.ts';
import { decodeUtf8, locateInvalidUtf8 } from './utf8.ts';

/** Longest line accepted by default: 64 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface LineSplitterOptions {
  /** Longest line in bytes (its line end excluded); longer is E021. @default 64 MiB */
  maxLineBytes?: number;
  /** The option that sets the limit, named in the error. @default 'maxLineBytes' */
  limitName?: string;
  /** Format named in errors (`JSONL`). @default 'Line' */
  label?: string;
  /** File or key named in errors. */
  source?: string | undefined;
  /**
   * A line that is not UTF-8 comes out as an empty line (which readers skip) instead of an error:
   * for readers told to skip broken lines, such as a torn last line after a crash. @default false
   */
  skipInvalidUtf8?: boolean;
}

const LF = 10;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly label: string;
  private readonly limitName: string;
  private readonly source: string | undefined;
  private readonly skipInvalidUtf8: boolean;
  /** The start of the line in progress: chunks (or their tails) without a line end yet. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Lines handed out so far. */
  private lines = 0;
  /** Bytes consumed before `pending` (for byte offsets in errors). */
  private offset = 0;
  private started = false;
  /** First bytes held until it is known whether they are a BOM. */
  private head: Buffer | undefined;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!(this.maxLineBytes > 0)) {
      throw new RangeError(`maxLineBytes must be a positive number, got ${options.maxLineBytes}`);
    }
    this.label = options.label ?? 'Line';
    this.limitName = options.limitName ?? 'maxLineBytes';
    this.source = options.source;
    this.skipInvalidUtf8 = options.skipInvalidUtf8 ?? false;
  }

  /** The lines this chunk completes, in order; line numbers follow on from earlier calls (1-based). */
  push(chunk: Uint8Array | string): string[] {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : toBuffer(chunk);
    if (!this.started) {
      // The first three bytes may be a BOM, and may come in more than one chunk.
      bytes = this.head ? Buffer.concat([this.head, bytes]) : bytes;
      this.head = undefined;
      if (bytes.length < 3 && BOM.subarray(0, bytes.length).equals(bytes)) {
        this.head = bytes;
        return [];
      }
      this.started = true;
      if (bytes.subarray(0, 3).equals(BOM)) {
        bytes = bytes.subarray(3);
        this.offset = 3;
      }
    }
    const last = bytes.lastIndexOf(LF);
    if (last < 0) {
      this.hold(bytes);
      return [];
    }
    const first = bytes.indexOf(LF);
    if (this.pendingBytes + first > this.maxLineBytes) this.tooLong(this.lines + 1);
    const head = bytes.subarray(0, last);
    const region = this.pending.length > 0 ? Buffer.concat([...this.pending, head]) : head;
    const lines = this.decode(region).split('\n');
    this.offset += region.length + 1;
    this.pending = [];
    this.pendingBytes = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      // Bytes ≥ UTF-16 units ≥ bytes / 3, so only lines near the limit need their bytes counted.
      if (line.length * 3 > this.maxLineBytes && Buffer.byteLength(line) > this.maxLineBytes) {
        this.tooLong(this.lines + i + 1);
      }
      if (line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
    }
    this.lines += lines.length;
    this.hold(bytes.subarray(last + 1));
    return lines;
  }

  /** Ends the input: the last line when it has no line end, else nothing. */
  end(): string[] {
    if (this.head) {
      const head = this.head;
      this.head = undefined;
      this.started = true;
      this.hold(head);
    }
    if (this.pendingBytes === 0) return [];
    const region = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const line = this.decode(region);
    this.lines++;
    return [line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line];
  }

  private hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > this.maxLineBytes) this.tooLong(this.lines + 1);
  }

  /** `region` starts at the beginning of line `this.lines + 1`. */
  private decode(region: Uint8Array): string {
    const text = decodeUtf8(region);
    if (text !== undefined) return text;
    if (this.skipInvalidUtf8) return decodeLinesSkippingInvalid(region);
    const bad = locateInvalidUtf8(region, this.lines + 1);
    throw invalidUtf8Error(this.at(bad.line, bad.column), bad.byte, this.offset + bad.index);
  }

  private at(line: number, column?: number) {
    return { label: this.label, source: this.source, line, column };
  }

  private tooLong(line: number): never {
    throw this.error(
      line,
      `line is longer than the limit of ${this.maxLineBytes} bytes (${this.limitName}; raise it, or check the file has line ends)`,
      { limit: this.maxLineBytes },
    );
  }

  private error(line: number, message: string, context: Record<string, unknown>): SluiceError {
    return formatErrorAt(this.at(line), message, context);
  }
}

/** The lines of `region` joined by LF, each line that is not UTF-8 left empty. */
function decodeLinesSkippingInvalid(region: Uint8Array): string {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = region.indexOf(LF, start);
    const end = nl < 0 ? region.length : nl;
    lines.push(decodeUtf8(region.subarray(start, end)) ?? '');
    if (nl < 0) return lines.join('\n');
    start = nl + 1;
  }
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A line that is empty or holds only JSON whitespace: spaces, tabs, carriage returns. */
export function isBlankLine(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** Lines of a byte stream with their 1-based numbers, through one LineSplitter. */
export async function* splitLines(
  bytes: Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>,
  options: LineSplitterOptions & { signal?: AbortSignal | undefined } = {},
): AsyncIterable<{ text: string; line: number }> {
  const splitter = new LineSplitter(options);
  let line = 0;
  for await (const chunk of bytes) {
    options.signal?.throwIfAborted();
    for (const text of splitter.push(chunk)) yield { text, line: ++line };
  }
  for (const text of splitter.end()) yield { text, line: ++line };
}
