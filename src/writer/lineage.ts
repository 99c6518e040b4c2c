/**
 * The writer's side of lineage (docs/lineage.md, "What the writer records"). Every file a
 * DataWriter call writes — a table or each file of a partitioned one, JSON, metrics,
 * dictionaries, charts — has its intent durable in `<taskDir>/_sluice/lineage/` before the file
 * becomes visible and its commit (sha256 of the bytes as stored, size, rows) once written; a
 * failed write gets an abort, and partition files a rewrite drops get delete records before they
 * go. A call's commits ride with the next call's intents, or go out within a second (an unref'd
 * timer), at `close()` or when the process runs out of work — a crash before leaves its files
 * `unconfirmed`, not corrupt; with OpenLineage export on they are durable when it returns (events
 * are made from stored records). Each call is also one OpenLineage run (START, then COMPLETE or
 * FAIL), sent in the background in order; `close()` waits for them.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { loadConfig } from '../config/config.ts';
import { SluiceError } from '../errors.ts';
import { FlushTimer } from '../lineage/flush-timer.ts';
import {
  createOpenLineageEmitter,
  type DatasetRef,
  LINEAGE_PREFIX,
  type LineageInput,
  LineageLog,
  lineageUrl,
  newRunId,
  type OpenLineageEmitter,
  type OpenLineageTarget,
  outputUrl,
  type RunEventType,
  runEvent,
} from '../lineage/index.ts';
import type { Logger } from '../logging/logger.ts';
import { fromOsError } from '../os-errors.ts';
import { sha256File } from '../storage/content-hash.ts';
import { openObjectUrl, parseStorageUrl } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { type CallerFrame, callerFrame } from './caller.ts';
import type { CommonWriteOptions } from './types.ts';

export interface WriterLineageSettings {
  enabled: boolean;
  openLineage: OpenLineageTarget | undefined;
}

/** Given settings win; the others come from the config file and environment, as the pipeline reads them. */
export function lineageSettings(options: {
  lineage?: boolean;
  openLineage?: OpenLineageTarget | false;
}): WriterLineageSettings {
  if (options.lineage === false) return { enabled: false, openLineage: undefined };
  const given = options.openLineage === false ? undefined : options.openLineage;
  if (options.lineage !== undefined && options.openLineage !== undefined)
    return { enabled: options.lineage, openLineage: given };
  const config = loadConfig();
  return {
    enabled: options.lineage ?? config.lineage,
    openLineage: options.openLineage === undefined ? config.openLineage : given,
  };
}

/** What a commit says about a written file. */
export interface WrittenBytes {
  sha256: string;
  sizeBytes: number;
  rows?: number;
}

const callerHashes = new Map<string, { mtimeMs: number; size: number; sha256: Promise<string> }>();

/**
 * The code that called the writer, as a `model` input: its function and the sha256 of its
 * source file (hashed once per version of the file). No input when the file cannot be read
 * (a REPL, an eval): the record then names only the operation.
 */
export async function callerInput(frame: CallerFrame): Promise<LineageInput[]> {
  const file = frame.file;
  if (file === undefined) return [];
  try {
    const { mtimeMs, size } = await stat(file);
    let cached = callerHashes.get(file);
    if (!cached || cached.mtimeMs !== mtimeMs || cached.size !== size) {
      cached = {
        mtimeMs,
        size,
        sha256: readFile(file).then((b) => createHash('sha256').update(b).digest('hex')),
      };
      callerHashes.set(file, cached);
    }
    const sha256 = await cached.sha256;
    return [{ kind: 'model', name: `${frame.module}.${frame.function}`, url: lineageUrl(file), sha256 }];
  } catch {
    callerHashes.delete(file);
    return [];
  }
}

/** One DataWriter's lineage: its log in the task directory and where its OpenLineage events go. */
/** How long a call's commits may wait for the next call's intents (ms). */
const COMMIT_DELAY_MS = 1000;

export class WriterLineage {
  readonly storage: Storage;
  /** Undefined: lineage is off, every call records nothing. */
  readonly log: LineageLog | undefined;
  private readonly emitter: OpenLineageEmitter | undefined;
  private readonly logger: Logger;
  private events: Promise<void> = Promise.resolve();
  /** Stores the commits a call left waiting when no next call's intents carry them. */
  private readonly flushTimer: FlushTimer | undefined;

  constructor(storage: Storage, settings: WriterLineageSettings, logger: Logger) {
    this.storage = storage;
    this.logger = logger;
    this.log = settings.enabled ? new LineageLog(storage) : undefined;
    this.flushTimer = this.log ? new FlushTimer(this.log, COMMIT_DELAY_MS) : undefined;
    const target = settings.openLineage;
    this.emitter =
      settings.enabled && target && (target.url !== undefined || target.file !== undefined)
        ? createOpenLineageEmitter(target)
        : undefined;
  }

  get enabled(): boolean {
    return this.log !== undefined;
  }

  /** OpenLineage events are sent (a Parquet write then describes its schema). */
  get exportsEvents(): boolean {
    return this.emitter !== undefined;
  }

  /**
   * One writer call named `operation`. Its inputs, awaited when it declares its first output, are
   * the ones given, else the function that called the writer — so this runs synchronously in the
   * writer's method, while the caller is on the stack.
   */
  call(operation: string, given: CommonWriteOptions['inputs']): WriterCall {
    const inputs: Promise<readonly LineageInput[]> = !this.enabled
      ? Promise.resolve([])
      : given !== undefined
        ? Promise.resolve(given)
        : callerInput(callerFrame());
    return new WriterCall(this, operation, inputs);
  }

  /** Queues an event after the ones before it; a failure to send is a warning, never a failed write. */
  emit(event: object): void {
    const emitter = this.emitter;
    if (!emitter) return;
    this.events = this.events
      .then(() => emitter.emit(event))
      .catch((error: unknown) =>
        this.logger.warn(
          { err: (error as Error).message },
          'OpenLineage event not written; the lineage log beside the data keeps the record',
        ),
      );
  }

  /** A call's commits wait for the next call's intents, or the timer. */
  deferCommits(): void {
    this.flushTimer?.arm();
  }

  /** Stores the records waiting and waits for the events queued so far. */
  async close(): Promise<void> {
    this.flushTimer?.disarm();
    await this.log?.flush();
    await this.events;
  }
}

/** The records of one writer call; every method is a no-op when lineage is off. */
export class WriterCall {
  readonly runId = newRunId();
  readonly operation: string;
  /** Column names and types of a Parquet output, for the OpenLineage schema facet. */
  fields: { name: string; type: string }[] | undefined;
  private readonly owner: WriterLineage;
  private readonly inputs: Promise<readonly LineageInput[]>;
  private readonly started = new Date();
  private readonly open = new Set<string>();
  private resolved: readonly LineageInput[] = [];
  private dataset: string | undefined;
  private startSent = false;

  constructor(owner: WriterLineage, operation: string, inputs: Promise<readonly LineageInput[]>) {
    this.owner = owner;
    this.operation = operation;
    this.inputs = inputs;
    // Awaited at the first declare; a call that fails before it must not leave it unhandled.
    inputs.catch(() => {});
  }

  get enabled(): boolean {
    return this.owner.enabled;
  }

  get exportsEvents(): boolean {
    return this.owner.exportsEvents;
  }

  /**
   * Makes the intents of `keys` durable (one log object for all) before any is written; returns
   * their ids in order. `dataset` is what OpenLineage names the output (a partitioned table's folder).
   */
  async declare(
    keys: readonly string[],
    dataset: string | undefined = keys[0],
    extra: readonly LineageInput[] = [],
  ): Promise<(string | undefined)[]> {
    const log = this.owner.log;
    if (!log || keys.length === 0) return [];
    this.resolved = await this.inputs;
    const inputs = [...this.resolved, ...extra];
    let ids: string[];
    try {
      ids = await log.begin(
        keys.map((key) => ({
          output: outputUrl(this.owner.storage, key),
          operation: this.operation,
          inputs,
          run: this.runId,
        })),
      );
    } catch (error) {
      throw recordRefused(this.owner.storage, keys[0] as string, error);
    }
    for (const id of ids) this.open.add(id);
    this.dataset ??= dataset;
    this.sendStart();
    return ids;
  }

  commit(id: string | undefined, written: WrittenBytes): void {
    if (id === undefined || !this.open.delete(id)) return;
    this.owner.log?.commit(id, {
      sha256: written.sha256,
      size: written.sizeBytes,
      ...(written.rows === undefined ? {} : { rows: written.rows }),
    });
  }

  /** Runs one file's write under its records: intent, write, commit (or abort and rethrow). */
  async put<T extends WrittenBytes>(
    key: string,
    write: () => Promise<T>,
    extra: readonly LineageInput[] = [],
  ): Promise<T> {
    const [id] = await this.declare([key], key, extra);
    try {
      const written = await write();
      this.commit(id, written);
      return written;
    } catch (error) {
      if (id !== undefined && this.open.delete(id)) this.owner.log?.abort(id, error);
      throw error;
    }
  }

  /** Records that this call removes `keys` (partitions a rewrite no longer has), durable before they go. */
  async deleting(keys: readonly string[]): Promise<void> {
    const log = this.owner.log;
    if (!log || keys.length === 0) return;
    for (const key of keys) log.deleted(outputUrl(this.owner.storage, key), this.operation);
    await log.flush();
  }

  /**
   * The call succeeded: COMPLETE is sent once its commits are durable; without OpenLineage export
   * they are deferred (stored with the next call's intents, the timer or `close()`).
   */
  async end(result: { path: string; sizeBytes: number; rows?: number }): Promise<void> {
    const log = this.owner.log;
    if (!log) return;
    if (!this.owner.exportsEvents) return this.owner.deferCommits();
    await log.flush();
    this.dataset = result.path;
    this.sendStart();
    this.send('COMPLETE', { rows: result.rows, size: result.sizeBytes });
  }

  /** The call failed: every output declared and not written is aborted, then FAIL is sent. */
  async fail(error: unknown): Promise<void> {
    const log = this.owner.log;
    if (!log) return;
    for (const id of this.open) log.abort(id, error);
    this.open.clear();
    // The first error is the one reported; a log that cannot be written keeps them for the next call.
    await log.flush().catch(() => {});
    this.sendStart();
    this.send('FAIL', {}, error);
  }

  private sendStart(): void {
    if (this.startSent || !this.owner.exportsEvents) return;
    this.startSent = true;
    this.send('START', {});
  }

  private send(
    type: RunEventType,
    stats: { rows?: number | undefined; size?: number },
    error?: unknown,
  ): void {
    if (!this.owner.exportsEvents) return;
    const outputs: DatasetRef[] =
      this.dataset === undefined
        ? []
        : [
            {
              url: outputUrl(this.owner.storage, this.dataset),
              ...(this.fields ? { fields: this.fields } : {}),
              ...(stats.rows === undefined ? {} : { rows: stats.rows }),
              ...(stats.size === undefined ? {} : { size: stats.size }),
            },
          ];
    const inputs = this.resolved.flatMap((i) =>
      i.kind === 'file' || i.kind === 'object' || i.kind === 'version' ? [{ url: i.url }] : [],
    );
    const run = { runId: this.runId, job: this.operation, inputs, outputs };
    this.owner.emit(runEvent(type, run, type === 'START' ? this.started : new Date(), error));
  }
}

/** A stored version of `key` a read-modify-write read: the sha256 and size of its bytes. */
export function storedVersionInput(storage: Storage, key: string, bytes: Buffer): LineageInput {
  return {
    kind: 'file',
    url: outputUrl(storage, key),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

/**
 * A table file a write reads, as a lineage input: a local file by the sha256 of its bytes (hashed
 * while the write stages the table), an object by its ETag (read from its metadata, not again).
 */
export async function sourceInput(location: string): Promise<LineageInput[]> {
  const parsed = parseStorageUrl(location);
  if (parsed.kind === 'fs') {
    const [sha256, info] = await Promise.all([sha256File(parsed.root), stat(parsed.root)]);
    return [{ kind: 'file', url: lineageUrl(location), sha256, size: info.size }];
  }
  const { storage, key } = openObjectUrl(location);
  try {
    const info = await storage.stat(key);
    return [{ kind: 'object', url: lineageUrl(location), etag: info.etag, size: info.size }];
  } finally {
    await storage.close();
  }
}

/**
 * The intents could not be stored, so nothing was written: a full or read-only disk or a
 * permission is reported naming the output the user asked for (E012), not sluice's log object.
 */
function recordRefused(storage: Storage, key: string, error: unknown): unknown {
  if (!storage.localPath) return error;
  let raw: unknown = error;
  for (let depth = 0; raw instanceof SluiceError && depth < 8; depth++) raw = raw.cause;
  const logDir = `${storage.localPath(LINEAGE_PREFIX.slice(0, -1))}/`;
  return (
    fromOsError(raw, {
      path: storage.localPath(key),
      access: 'write',
      outcome: `nothing was written (its lineage record goes first, into ${logDir})`,
    }) ?? error
  );
}
