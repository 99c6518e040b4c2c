/**
 * Incremental data points in JSONL, the seed's `<source>/<dataset>/<variable>.jsonl`.
 *
 * The seed opened, appended one line and closed the file per point, with no fsync and no
 * protection against two processes writing at once. `IncrementalWriter` batches points (group
 * commit): all points written while a batch is being flushed go into the next batch, each batch
 * is ONE `write()` on a file opened with O_APPEND followed by one fdatasync, and every
 * `write()` promise resolves only once its batch is durable.
 *
 * Why O_APPEND of whole batches is safe with several processes: on a local file system the
 * kernel positions each O_APPEND write at the end of the file and holds the inode lock for the
 * whole write, so batches from different processes land one after another, never interleaved,
 * and each batch is whole lines. A batch that stops short (a full disk) or whose fdatasync fails
 * is cut off again before it is refused (E012 `disk full writing …`), so no line of it is
 * visible, and the writer works again once space is freed (see append-file.ts). Only a crash in
 * the middle of a write leaves a torn last line: readers skip it (`readDataPoints` uses
 * `skipInvalid`) and the next writer starts on a fresh line. On storages without local files
 * (S3, memory) there is no append: each batch becomes its own segment object
 * `<variable>.segments/<variable>_<stamp>-r….jsonl`, written atomically, and `readDataPoints`
 * reads the main file and then the segments in order.
 */

import { IngestError, ValidationError } from '../errors.ts';
import type { LineageInput } from '../lineage/record.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { Storage } from '../storage/types.ts';
import { AppendFile } from './append-file.ts';
import { AppendLineage } from './append-lineage.ts';
import { DEFAULT_SOURCE, describeKey, type IngestLocation, resolveStorage, type SavedFile } from './base.ts';
import { type DataPoint, dataPointLine } from './data-point.ts';
import { safeId } from './ids.ts';
import { LineBuffer } from './line-buffer.ts';
import { IngestLineage, type IngestLineageOptions, writtenBytes } from './lineage.ts';
import { type CreateOutcome, createStamped } from './save.ts';

export interface IncrementalWriterOptions extends IngestLocation, Omit<IngestLineageOptions, 'derivedFrom'> {
  datasetId: string;
  /** @default 'default' */
  sourceName?: string;
  /** File name (without .jsonl). @default datasetId */
  variableName?: string;
  /** Flush as soon as this many points are waiting. @default 1000 */
  batchSize?: number;
  /** Longest a point waits for its batch, in ms. @default 20 */
  flushIntervalMs?: number;
  /** fdatasync each batch before acknowledging it. @default true */
  fsync?: boolean;
  /** `write` waits for flushes while more than this many points are queued. @default 100000 */
  maxQueued?: number;
}

function checkPositiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new ValidationError(`IncrementalWriter: ${name} must be a whole number ≥ ${min}, got ${value}`, {
      context: { [name]: value },
    });
  }
  return v;
}

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits must not crash the process as an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class IncrementalWriter {
  readonly storage: Storage;
  /** Key of the JSONL file, relative to the base. */
  readonly key: string;
  private readonly owned: boolean;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly durable: boolean;
  private readonly maxQueued: number;
  private readonly dir: string;
  private readonly variable: string;
  private handle: AppendFile | undefined;
  /** Lineage: one record per batch (docs/lineage.md); its own log is flushed at close. */
  private lineage: IngestLineage | undefined;
  private appends: AppendLineage | undefined;
  private readonly inputs: LineageInput[];
  private readonly pending = new LineBuffer();
  private batch: Batch | undefined;
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private waiting: Promise<void> | undefined;
  private closed = false;
  /** On storages without local files: the segment object the last batch went to. */
  lastSegment: SavedFile | undefined;
  /** Points and batches made durable so far. */
  readonly stats = { points: 0, batches: 0, bytes: 0 };

  private constructor(options: IncrementalWriterOptions, storage: Storage, owned: boolean) {
    const dataset = safeId(options.datasetId, 'dataset id');
    const source = safeId(options.sourceName ?? DEFAULT_SOURCE, 'source name');
    this.variable = safeId(options.variableName ?? options.datasetId, 'variable name');
    this.dir = `${source}/${dataset}`;
    this.key = `${this.dir}/${this.variable}.jsonl`;
    this.storage = storage;
    this.owned = owned;
    this.batchSize = checkPositiveInt('batchSize', options.batchSize, 1000);
    this.intervalMs = checkPositiveInt('flushIntervalMs', options.flushIntervalMs, 20, 0);
    this.maxQueued = checkPositiveInt('maxQueued', options.maxQueued, 100_000);
    this.durable = options.fsync ?? true;
    this.inputs = options.inputs ?? [];
  }

  /** Opens (creating if needed) the JSONL file of one dataset variable. */
  static async open(options: IncrementalWriterOptions): Promise<IncrementalWriter> {
    const { storage, owned } = resolveStorage(options);
    let writer: IncrementalWriter;
    try {
      writer = new IncrementalWriter(options, storage, owned);
    } catch (error) {
      if (owned) await storage.close();
      throw error;
    }
    try {
      writer.lineage = IngestLineage.open(storage, options.lineage);
      if (storage.capabilities.localFiles && storage.localPath) {
        const file = storage.localPath(writer.key);
        writer.handle = await AppendFile.open(file, writer.durable);
        writer.appends = await AppendLineage.open(writer.lineage, writer.key, file, writer.inputs);
      }
    } catch (error) {
      await writer.handle?.close().catch(() => undefined);
      if (owned) await storage.close();
      throw error;
    }
    return writer;
  }

  /** The saved file, as the seed's function returned its path. */
  get file(): SavedFile {
    return describeKey(this.storage, this.key, this.stats.bytes);
  }

  /** Queues one point; resolves when the batch holding it is durable. Invalid points reject at once. */
  write(point: DataPoint): Promise<void> {
    let line: string;
    try {
      if (this.closed) throw new IngestError(`IncrementalWriter for ${this.key} is closed`);
      line = dataPointLine(point, this.key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.admit(line);
  }

  /** Queues many points as one unit: all are validated before any is queued. */
  writeMany(points: Iterable<DataPoint>): Promise<void> {
    const lines: string[] = [];
    try {
      if (this.closed) throw new IngestError(`IncrementalWriter for ${this.key} is closed`);
      for (const p of points) lines.push(dataPointLine(p, `${this.key} point ${lines.length}`));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.admit(lines);
  }

  /**
   * Backpressure: beyond maxQueued, lines wait for the flush in flight. Once any line waits, later
   * ones queue behind it (the `waiting` chain), so points keep their order in the file.
   */
  private mustWait(): boolean {
    return this.waiting !== undefined || (this.queued >= this.maxQueued && this.draining !== undefined);
  }

  private admit(lines: string | string[]): Promise<void> {
    if (this.mustWait()) {
      const gate: Promise<void> = (this.waiting ?? this.draining ?? Promise.resolve()).then(async () => {
        while (this.queued >= this.maxQueued && this.draining) await this.draining;
      });
      const admitted = gate.then(() => {
        if (this.waiting === next) this.waiting = undefined;
        return this.enqueue(lines);
      });
      const next: Promise<void> = gate;
      this.waiting = next;
      return admitted;
    }
    return this.enqueue(lines);
  }

  private enqueue(lines: string | string[]): Promise<void> {
    // A single line (write) comes without an array around it: no allocation per point.
    if (typeof lines === 'string') {
      this.pending.push(lines);
      this.queued++;
    } else {
      for (const l of lines) this.pending.push(l);
      this.queued += lines.length;
    }
    return this.queuedLines();
  }

  /** After lines joined the queue: their batch's promise, and a flush if one is due. */
  private queuedLines(): Promise<void> {
    // Every point of a batch shares one promise: no allocation per point.
    this.batch ??= newBatch();
    const done = this.batch.promise;
    if (this.pending.count >= this.batchSize) this.startFlush();
    else this.timer ??= setTimeout(() => this.startFlush(), this.intervalMs);
    return done;
  }

  private startFlush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.draining && this.pending.count > 0) this.draining = this.drain();
    return this.draining ?? Promise.resolve();
  }

  /**
   * Group commit: each round takes EVERY queued line, so while one write+fsync is in flight the
   * next batch grows, and a fast producer gets few large fsyncs instead of many small ones.
   */
  private async drain(): Promise<void> {
    try {
      while (this.pending.count > 0) {
        const { chunks, size, count } = this.pending.take();
        const batch = this.batch;
        this.batch = undefined;
        try {
          await this.writeBatch(chunks, size, count);
          this.stats.points += count;
          this.stats.batches++;
          batch?.resolve();
        } catch (error) {
          batch?.reject(error);
        } finally {
          this.queued -= count;
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async writeBatch(chunks: Buffer[], size: number, count: number): Promise<void> {
    if (!this.handle) {
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      const lineage = this.lineage;
      const beforeCreate = async (key: string): Promise<CreateOutcome> => {
        const [record] = await (lineage as IngestLineage).begin([
          { key, operation: 'ingest.append', inputs: this.inputs },
        ]);
        return {
          created: () => record?.commit(writtenBytes(buf, count)),
          lost: (error) => record?.abort(error),
        };
      };
      this.lastSegment = await createStamped(
        this.storage,
        `${this.dir}/${this.variable}.segments`,
        this.variable,
        new Date(),
        'jsonl',
        buf,
        { contentType: CONTENT_TYPES.jsonl, ...(lineage?.enabled ? { beforeCreate } : {}) },
      );
      this.stats.bytes += buf.byteLength;
      return;
    }
    const handle = this.handle;
    const more = () => this.pending.count > 0;
    if (this.appends) await this.appends.record(chunks, size, count, more, () => handle.append(chunks, size));
    else await handle.append(chunks, size);
    this.stats.bytes += size;
  }

  /** Flushes every queued point; resolves when they are durable. */
  async flush(): Promise<void> {
    while (this.waiting || this.pending.count > 0 || this.draining) {
      if (this.waiting) await this.waiting;
      else await this.startFlush();
    }
  }

  /** Flushes and closes; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    try {
      await this.handle?.close();
      this.handle = undefined;
      await this.appends?.close();
      await this.lineage?.end();
    } finally {
      if (this.owned) await this.storage.close();
    }
  }
}
