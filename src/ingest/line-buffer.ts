/**
 * Queued JSONL lines, encoded to UTF-8 as they arrive. Keeping 100,000 small strings alive until
 * the next flush promotes them all to the old generation and makes the GC the main cost;
 * writing each line into a few growing chunks lets the strings die young. Lines are first
 * joined into a short string (up to JOIN_LINES lines or JOIN_CHARS characters) and encoded with
 * one `Buffer.write`: one native call per line cost about as much as building the line.
 */
const FIRST_CHUNK = 16 * 1024;
const MAX_CHUNK = 4 * 1024 * 1024;
const JOIN_LINES = 256;
const JOIN_CHARS = 64 * 1024;

export class LineBuffer {
  private chunks: Buffer[] = [];
  private current: Buffer | undefined;
  private pos = 0;
  private nextSize = FIRST_CHUNK;
  private size = 0;
  /** Lines joined but not yet encoded. */
  private text = '';
  private textLines = 0;
  /** Lines queued. */
  count = 0;

  push(line: string): void {
    this.text += line;
    this.count++;
    if (++this.textLines >= JOIN_LINES || this.text.length >= JOIN_CHARS) this.encode();
  }

  /** Everything queued, as chunks in order (no copy into one buffer), and empties the queue. */
  take(): { chunks: Buffer[]; size: number; count: number } {
    this.encode();
    this.seal();
    const taken = { chunks: this.chunks, size: this.size, count: this.count };
    this.chunks = [];
    this.size = 0;
    this.count = 0;
    this.nextSize = FIRST_CHUNK;
    return taken;
  }

  private encode(): void {
    const text = this.text;
    if (text === '') return;
    this.text = '';
    this.textLines = 0;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const worst = text.length * 3;
    if (!this.current || this.pos + worst > this.current.length) {
      this.seal();
      this.current = Buffer.allocUnsafe(Math.max(this.nextSize, worst));
      this.nextSize = Math.min(this.nextSize * 2, MAX_CHUNK);
    }
    const written = this.current.write(text, this.pos);
    this.pos += written;
    this.size += written;
  }

  private seal(): void {
    if (this.current && this.pos > 0) this.chunks.push(this.current.subarray(0, this.pos));
    this.current = undefined;
    this.pos = 0;
  }
}
