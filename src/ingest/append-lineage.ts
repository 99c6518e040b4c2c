/**
 * Lineage of a JSONL file that batches of points are appended to. Each appended batch is recorded
 * as a write of a new VERSION of the whole file: the intent (before the append) names the file;
 * the commit gives the sha256, size and line count of the whole file after. So `lineage verify`
 * checks an appended file like any other (its bytes are those of the last committed version) and
 * catches an edited byte anywhere in it, not only in the last batch; recording only the appended
 * range would leave earlier bytes unchecked and need a verify of its own.
 *
 * Hashing the whole file per batch would cost O(file) per batch, so the hash is kept running:
 * the file is read once when the writer opens, then each batch's bytes are added. After each
 * append the file's size is checked against the running size; when they differ — another process
 * appended too, or a torn line was closed with a newline — the file is hashed again from disk,
 * and the commit states the file as it is then (with several processes appending to one file at
 * once, a commit may include their batches: docs/ingest.md).
 *
 * The intent of the next batch is stored ahead — when the writer opens, and while a batch is
 * appended if more points already wait — so a batch rarely waits for its intent: the log's put
 * runs beside the append's fdatasync instead of before it. An intent prepared for a batch that
 * never comes is aborted at close (an abort says no write was made; `verify` ignores it).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { LineageInput } from '../lineage/record.ts';
import type { IngestLineage, RecordedWrite } from './lineage.ts';

const NEWLINE = 0x0a;

function countLines(chunk: Uint8Array): number {
  let n = 0;
  for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

export class AppendLineage {
  private readonly lineage: IngestLineage;
  private readonly key: string;
  private readonly file: string;
  private readonly inputs: LineageInput[];
  private hash: Hash = createHash('sha256');
  private size = 0;
  private lines = 0;
  /** The running hash no longer matches the file (a failed append): hash it again first. */
  private stale = true;
  /** The intent stored ahead for the next batch. */
  private prepared: Promise<RecordedWrite> | undefined;

  private constructor(lineage: IngestLineage, key: string, file: string, inputs: LineageInput[]) {
    this.lineage = lineage;
    this.key = key;
    this.file = file;
    this.inputs = inputs;
  }

  /** The lineage of appends to `file` (key `key`), undefined when lineage is off. */
  static async open(
    lineage: IngestLineage,
    key: string,
    file: string,
    inputs: LineageInput[],
  ): Promise<AppendLineage | undefined> {
    if (!lineage.enabled) return undefined;
    const appends = new AppendLineage(lineage, key, file, inputs);
    await appends.rehash();
    appends.prepare();
    return appends;
  }

  private async intent(): Promise<RecordedWrite> {
    const [record] = await this.lineage.begin([
      { key: this.key, operation: 'ingest.append', inputs: this.inputs },
    ]);
    return record as RecordedWrite;
  }

  /** Stores the next batch's intent ahead; if that fails, the batch tries once more itself. */
  private prepare(): void {
    this.prepared = this.intent();
    this.prepared.catch(() => undefined);
  }

  /**
   * Runs `append` (one batch of `count` lines, `chunks`) under its record: intent, append, commit
   * or abort. `more()`: points already wait for another batch (its intent is stored meanwhile).
   */
  async record(
    chunks: readonly Buffer[],
    size: number,
    count: number,
    more: () => boolean,
    append: () => Promise<void>,
  ): Promise<void> {
    if (this.stale) await this.rehash();
    const prepared = this.prepared;
    this.prepared = undefined;
    // A failed put ahead (a disk full then) is not this batch's failure: its own try decides.
    const record = (await prepared?.catch(() => undefined)) ?? (await this.intent());
    if (more()) this.prepare();
    try {
      await append();
    } catch (error) {
      record.abort(error);
      this.stale = true;
      throw error;
    }
    const { size: now } = await fsp.stat(this.file);
    if (now === this.size + size) {
      for (const chunk of chunks) this.hash.update(chunk);
      this.size = now;
      this.lines += count;
    } else await this.rehash();
    record.commit({ sha256: this.digest(), size: this.size, rows: this.lines });
  }

  /** At close: the intent stored for a batch that never came is aborted. */
  async close(): Promise<void> {
    const prepared = this.prepared;
    this.prepared = undefined;
    const record = await prepared?.catch(() => undefined);
    record?.abort(new Error('no batch was appended under this intent: the writer closed'));
  }

  private digest(): string {
    return this.hash.copy().digest('hex');
  }

  /** Hashes the file as it is on disk (absent: empty). */
  private async rehash(): Promise<void> {
    const hash = createHash('sha256');
    let size = 0;
    let lines = 0;
    try {
      for await (const chunk of createReadStream(this.file) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        lines += countLines(chunk);
      }
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    }
    this.hash = hash;
    this.size = size;
    this.lines = lines;
    this.stale = false;
  }
}
