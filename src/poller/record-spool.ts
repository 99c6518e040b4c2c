/**
 * Holds the records of one object until the whole object has parsed, so an object that turns out
 * broken at row 900,000 enqueues nothing. Up to `memoryRecords` stay in memory; beyond that they
 * go to a private temp file as JSON lines (bounded memory for any object size).
 */
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { stringifyJson } from '../formats/common.ts';
import { TempDir } from '../formats/spool.ts';
import { splitLines } from '../util/lines.ts';

export class RecordSpool {
  private readonly memoryRecords: number;
  private memory: unknown[] = [];
  private temp: TempDir | undefined;
  private handle: FileHandle | undefined;
  private pending: string[] = [];
  private count = 0;

  constructor(memoryRecords: number) {
    this.memoryRecords = memoryRecords;
  }

  get size(): number {
    return this.count;
  }

  async add(record: unknown): Promise<void> {
    this.count++;
    if (!this.handle && this.memory.length < this.memoryRecords) {
      this.memory.push(record);
      return;
    }
    if (!this.handle) {
      this.temp = await TempDir.create('poller-records');
      // 0600: records may carry anything the object did.
      this.handle = await open(this.temp.file('records.jsonl'), 'w', 0o600);
      for (const r of this.memory) this.pending.push(stringifyJson(r));
      this.memory = [];
    }
    this.pending.push(stringifyJson(record));
    if (this.pending.length >= 1024) await this.flush();
  }

  /** The records in order, `size` at a time. */
  async *batches(size: number): AsyncIterable<unknown[]> {
    if (!this.handle) {
      for (let i = 0; i < this.memory.length; i += size) yield this.memory.slice(i, i + size);
      return;
    }
    await this.flush();
    await this.handle.close();
    this.handle = undefined;
    // Our own file of records that were already parsed and bounded: no line limit of its own.
    const lines = splitLines(createReadStream(this.temp!.file('records.jsonl')), {
      maxLineBytes: Number.MAX_SAFE_INTEGER,
      source: this.temp!.file('records.jsonl'),
    });
    let batch: unknown[] = [];
    for await (const { text } of lines) {
      batch.push(JSON.parse(text));
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
    await this.temp?.close();
    this.memory = [];
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0 || !this.handle) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    await this.handle.write(text);
  }
}
