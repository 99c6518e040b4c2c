/**
 * Queued JSONL lines, encoded to UTF-8 as they arrive. Keeping 100,000 small strings alive until
 * the next flush promotes them all to the old generation and makes the GC the main cost;
 * writing each line into a few growing chunks lets the strings die young.
 */
const FIRST_CHUNK = 16 * 1024;
const MAX_CHUNK = 4 * 1024 * 1024;

export class LineBuffer {
  private chunks: Buffer[] = [];
  private current: Buffer | undefined;
  private pos = 0;
  private nextSize = FIRST_CHUNK;
  /** Lines queued. */
  count = 0;

  push(line: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const worst = line.length * 3;
    if (!this.current || this.pos + worst > this.current.length) {
      this.seal();
      this.current = Buffer.allocUnsafe(Math.max(this.nextSize, worst));
      this.nextSize = Math.min(this.nextSize * 2, MAX_CHUNK);
    }
    this.pos += this.current.write(line, this.pos);
    this.count++;
  }

  /** Everything queued, as one buffer, and empties the queue. */
  take(): { bytes: Buffer; count: number } {
    this.seal();
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const count = this.count;
    this.chunks = [];
    this.count = 0;
    this.nextSize = FIRST_CHUNK;
    return { bytes, count };
  }

  private seal(): void {
    if (this.current && this.pos > 0) this.chunks.push(this.current.subarray(0, this.pos));
    this.current = undefined;
    this.pos = 0;
  }
}
