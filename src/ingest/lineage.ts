/**
 * API ingestion's side of lineage (docs/lineage.md, docs/ingest.md). Every file an ingest call
 * writes — a raw response, its `.meta.json`, request metadata, processed data, a JSONL file's
 * appended batch — has its intent durable in `<base>/_sluice/lineage/` before the file becomes
 * visible, and its commit (sha256, size, rows) after; a write that fails gets an abort. Calls on a
 * caller's `Storage` share its group log, whose commits ride with the next save's intents (or a
 * timer, `flushIngestLineage`, the process's end); a call that opens its storage from `baseDir`
 * flushes before it closes it; a caller's own log (`lineage: log`) is the caller's to flush.
 * With config `lineage: false` (SLUICE_LINEAGE=0) nothing is recorded.
 */
import { createHash } from 'node:crypto';
import { loadConfig } from '../config/config.ts';
import { GroupLog, type IntentLog } from '../lineage/group-log.ts';
import { outputUrl, type WrittenOutput } from '../lineage/log.ts';
import type { LineageInput } from '../lineage/record.ts';
import { maskSecretsInString } from '../secrets/mask.ts';
import { sha256Stream } from '../storage/content-hash.ts';
import type { Storage } from '../storage/types.ts';
import type { SavedFile } from './base.ts';

export interface IngestLineageOptions {
  /**
   * Lineage records for the files written (docs/lineage.md): `false` records none, `true` records
   * whatever the config says, a `LineageLog` (on the same storage) shares a caller's log, which the
   * caller flushes: commits then ride along with the next intents, so a loop of saves costs one
   * log object per save instead of two.
   * @default the config's `lineage` (SLUICE_LINEAGE=0 turns it off)
   */
  lineage?: boolean | IntentLog;
  /** What the written data was made from (an HTTP call, a file), named in its records. */
  inputs?: LineageInput[];
  /**
   * Files under the same base the data was derived from (a raw response), named in its records
   * as `file` inputs with their sha256 (read from the file when the SavedFile does not carry it).
   */
  derivedFrom?: ReadonlyArray<SavedFile | string>;
}

/** Per storage, the log its ingest calls share (nothing but records in flight is kept in it). */
const groupLogs = new WeakMap<Storage, GroupLog>();

/** One declared write: how it ended. Only the first call counts. */
export interface RecordedWrite {
  commit(written: WrittenOutput): void;
  abort(error: unknown): void;
}

const NOTHING: RecordedWrite = { commit: () => {}, abort: () => {} };

export interface PlannedIngestWrite {
  /** Key under the base (`met/weather/weather_20250101T000000000Z.json`). */
  key: string;
  operation: string;
  inputs: LineageInput[];
}

export class IngestLineage {
  readonly storage: Storage;
  /** The log records go to; undefined when lineage is off. */
  readonly log: IntentLog | undefined;
  /** Whether the log is this storage's group log (a caller's log is the caller's to flush). */
  private readonly owned: boolean;
  /** Whether a call that succeeds leaves its commits to ride with the next intents. */
  private readonly defer: boolean;

  private constructor(storage: Storage, log: IntentLog | undefined, owned: boolean, defer = false) {
    this.storage = storage;
    this.log = log;
    this.owned = owned;
    this.defer = defer;
  }

  /**
   * The lineage of one call on `storage`: a caller's log, none when off, else the storage's group
   * log (concurrent calls on one Storage share its log objects). `defer`: the call's commits are
   * not flushed at its end but ride with the next intents (the caller owns the storage); else
   * they are stored before the call returns (it closes the storage it opened).
   */
  static open(
    storage: Storage,
    option: boolean | IntentLog | undefined,
    { defer = false }: { defer?: boolean } = {},
  ): IngestLineage {
    if (typeof option === 'object') return new IngestLineage(storage, option, false);
    // `true` does not overrule SLUICE_LINEAGE=0: the switch is the user's, not the caller's.
    if (option === false || !loadConfig().lineage) return new IngestLineage(storage, undefined, false);
    const log = groupLogs.get(storage) ?? new GroupLog(storage);
    groupLogs.set(storage, log);
    return new IngestLineage(storage, log, true, defer);
  }

  get enabled(): boolean {
    return this.log !== undefined;
  }

  /** The log to hand to a nested call: shared when on, `false` when off. */
  get shared(): IntentLog | false {
    return this.log ?? false;
  }

  url(key: string): string {
    return outputUrl(this.storage, key);
  }

  /** A file under the base read whole (or written just before), by the sha256 of its bytes. */
  fileInput(key: string, sha256: string, size?: number): LineageInput {
    return { kind: 'file', url: this.url(key), sha256, ...(size === undefined ? {} : { size }) };
  }

  /** `derivedFrom` as `file` inputs; files without a known hash are read and hashed (only when on). */
  async inputsOf(options: IngestLineageOptions): Promise<LineageInput[]> {
    if (!this.log) return [];
    const inputs = [...(options.inputs ?? [])];
    for (const from of options.derivedFrom ?? []) {
      const key = typeof from === 'string' ? from : from.key;
      if (typeof from !== 'string' && from.sha256) inputs.push(this.fileInput(key, from.sha256, from.size));
      else {
        const info = await this.storage.stat(key);
        inputs.push(this.fileInput(key, await sha256Stream(await this.storage.getStream(key)), info.size));
      }
    }
    return inputs;
  }

  /** Makes the intents of `writes` durable (with any records waiting) before they are written. */
  async begin(writes: readonly PlannedIngestWrite[]): Promise<RecordedWrite[]> {
    const log = this.log;
    if (!log || writes.length === 0) return writes.map(() => NOTHING);
    const ids = await log.begin(
      writes.map((w) => ({ output: this.url(w.key), operation: w.operation, inputs: w.inputs })),
    );
    return ids.map((id) => {
      let open = true;
      return {
        commit: (written) => {
          if (open) log.commit(id, written);
          open = false;
        },
        abort: (error) => {
          if (open) log.abort(id, maskedError(error));
          open = false;
        },
      };
    });
  }

  /** The end of a call: its records are made durable unless deferred (a shared log is its owner's). */
  async end(): Promise<void> {
    if (this.owned && !this.defer) await this.log?.flush();
  }

  /** The end of a failed call: abort records stored now when possible, the call's error wins. */
  async endQuietly(): Promise<void> {
    if (this.owned) await this.log?.flush().catch(() => {});
  }
}

/**
 * Stores the lineage commits that saves on `storage` left waiting (they ride with the next save's
 * intents, or go out within a second). Call it before closing a storage you passed to saves.
 */
export async function flushIngestLineage(storage: Storage): Promise<void> {
  await groupLogs.get(storage)?.flush();
}

/** An error as an abort record keeps it: its code, and its message with every secret masked. */
function maskedError(error: unknown): Error {
  const message = maskSecretsInString(error instanceof Error ? error.message : String(error));
  const code = (error as { code?: unknown } | undefined)?.code;
  return Object.assign(new Error(message), typeof code === 'string' ? { code } : {});
}

/** What a commit says about bytes written from memory. */
export function writtenBytes(bytes: Buffer | string, rows?: number): WrittenOutput {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return { sha256: sha256Of(buf), size: buf.length, ...(rows === undefined ? {} : { rows }) };
}

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The input of a response fetched over HTTP: its URL (masked: a token in the query string or
 * userinfo never reaches the log), method, status and the sha256 of the body as received.
 */
export function httpInput(url: string, method: string, status: number, body: Buffer): LineageInput {
  return {
    kind: 'http',
    url: maskSecretsInString(url),
    method: method.toUpperCase(),
    status,
    responseSha256: sha256Of(body),
  };
}
