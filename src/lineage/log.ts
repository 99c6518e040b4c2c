/**
 * Writing lineage records beside the data: each batch of records is one object under
 * `_sluice/lineage/<date>/` of the storage the outputs go to, written by the storage's atomic put
 * (fsynced on disk), so a log object is whole or absent and nothing is ever appended in place —
 * the same on disk and on S3. `begin` makes intents durable before the caller writes its outputs;
 * commits wait in memory and ride along with the next batch or `flush`, so a write costs about
 * one small object, and a step that declares all its outputs at once costs one for all of them.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Storage } from '../storage/types.ts';
import { VERSION } from '../version.ts';
import {
  type CommitRecord,
  LINEAGE_FORMAT_VERSION,
  type LineageInput,
  type LineageRecord,
  maskedInput,
} from './record.ts';

/** Where a storage keeps its lineage log. */
export const LINEAGE_PREFIX = '_sluice/lineage/';

export interface PlannedWrite {
  /** The output's URL (as `outputUrl` makes it). */
  output: string;
  operation: string;
  inputs: LineageInput[];
  run?: string;
}

export interface WrittenOutput {
  sha256: string;
  size: number;
  rows?: number;
  /**
   * Column names and types (a Parquet output's footer). Not stored in the record: kept in memory
   * for the OpenLineage schema facet of the run's events.
   */
  fields?: { name: string; type: string }[];
}

/** The URL lineage records name an object by: the storage's URL joined with the key. */
export function outputUrl(storage: Pick<Storage, 'url'>, key: string): string {
  return storage.url.endsWith('/') ? `${storage.url}${key}` : `${storage.url}/${key}`;
}

/** Lineage logs made by this process so far (orders their sessions). */
let logsMade = 0;

export class LineageLog {
  private readonly storage: Storage;
  private readonly session: string;
  private seq = 0;
  private objects = 0;
  private pending: LineageRecord[] = [];
  /** Every record this log has stored, in order (what an OpenLineage export of its runs reads). */
  private readonly stored: LineageRecord[] = [];
  /** The columns of committed Parquet outputs, by intent id (for the export's schema facets). */
  private readonly fields = new Map<string, { name: string; type: string }[]>();
  /** The batch being written: the next waits for it. */
  private writing: Promise<void> = Promise.resolve();
  private readonly now: () => Date;

  /** `session`: a prefix of this log's object names (a store's log finds its own records by it). */
  constructor(storage: Storage, options: { now?: () => Date; session?: string } = {}) {
    this.storage = storage;
    // Logs of one process sort in the order they were made, also within one millisecond (the
    // reader orders writes of one millisecond by id: a group log makes a log per object).
    const own = `${Date.now().toString(36)}-${(++logsMade).toString(36).padStart(8, '0')}${randomBytes(5).toString('hex')}`;
    this.session = options.session ? `${options.session}-${own}` : own;
    this.now = options.now ?? (() => new Date());
  }

  /** A new intent id: its sequence padded, so ids of this log sort in the order they were made. */
  private nextId(): string {
    return `${this.session}-${(++this.seq).toString(36).padStart(6, '0')}`;
  }

  /** Records the intents of `writes` durably (with any commits waiting); returns their ids in order. */
  async begin(writes: readonly PlannedWrite[]): Promise<string[]> {
    const at = this.now().toISOString();
    const ids = writes.map(() => this.nextId());
    const intents: LineageRecord[] = writes.map((w, i) => ({
      v: LINEAGE_FORMAT_VERSION,
      kind: 'intent',
      id: ids[i] as string,
      at,
      output: w.output,
      operation: w.operation,
      inputs: w.inputs.map(maskedInput),
      ...(w.run === undefined ? {} : { run: w.run }),
      sluice: VERSION,
      host: hostname(),
      pid: process.pid,
    }));
    await this.write(intents);
    return ids;
  }

  /** The output of intent `id` is written: its hash, size and rows (durable at the next batch or flush). */
  commit(id: string, output: WrittenOutput): void {
    const record: CommitRecord = {
      v: LINEAGE_FORMAT_VERSION,
      kind: 'commit',
      id,
      at: this.now().toISOString(),
      sha256: output.sha256,
      size: output.size,
      ...(output.rows === undefined ? {} : { rows: output.rows }),
    };
    if (output.fields) this.fields.set(id, output.fields);
    this.pending.push(record);
  }

  /** The write of intent `id` failed: nothing of it should exist. */
  abort(id: string, error: unknown): void {
    // A sluice error keeps its code (`E003: …`), as the CLI prints it.
    const code = (error as { code?: unknown } | undefined)?.code;
    const text = error instanceof Error ? error.message : String(error);
    const message = typeof code === 'string' && /^E\d{3}$/.test(code) ? `${code}: ${text}` : text;
    this.pending.push({
      v: LINEAGE_FORMAT_VERSION,
      kind: 'abort',
      id,
      at: this.now().toISOString(),
      error: message,
    });
  }

  /** A sluice operation removed `output` on purpose (prune, retention): `verify` expects it gone. */
  deleted(output: string, operation: string): void {
    const id = this.nextId();
    this.pending.push({
      v: LINEAGE_FORMAT_VERSION,
      kind: 'delete',
      id,
      at: this.now().toISOString(),
      output,
      operation,
    });
  }

  /** The records this log has stored so far (durable), oldest first. */
  recorded(): readonly LineageRecord[] {
    return this.stored;
  }

  /** The columns committed with each output that had them, by intent id (never stored in the log). */
  schemas(): ReadonlyMap<string, { name: string; type: string }[]> {
    return this.fields;
  }

  /** Makes every waiting record durable. */
  async flush(): Promise<void> {
    await this.write([]);
  }

  /**
   * Runs one write under its record: intent first, then `write`, then commit (or abort, and the
   * error is thrown on). The commit is durable at the next batch or `flush`.
   */
  async record<T extends WrittenOutput>(planned: PlannedWrite, write: () => Promise<T>): Promise<T> {
    const [id] = (await this.begin([planned])) as [string];
    try {
      const written = await write();
      this.commit(id, written);
      return written;
    } catch (error) {
      this.abort(id, error);
      throw error;
    }
  }

  /**
   * Writes the waiting records and `records` as one object. Batches are written one at a time, so
   * a record is in exactly one object; a failed put keeps the waiting records for the next try.
   */
  private write(records: LineageRecord[]): Promise<void> {
    const run = this.writing.then(async () => {
      // A count, not the array: commits pushed while the put runs are not in this batch.
      const waiting = this.pending.length;
      const batch = [...this.pending.slice(0, waiting), ...records];
      if (batch.length === 0) return;
      const day = (batch[0]?.at ?? this.now().toISOString()).slice(0, 10);
      const key = `${LINEAGE_PREFIX}${day}/${this.session}-${(++this.objects).toString().padStart(6, '0')}.jsonl`;
      const text = `${batch.map((r) => JSON.stringify(r)).join('\n')}\n`;
      await this.storage.put(key, text, { contentType: 'application/x-ndjson' });
      this.stored.push(...batch);
      this.pending = this.pending.slice(waiting);
    });
    this.writing = run.catch(() => {});
    return run;
  }
}
