/**
 * DataWriter: one place where operations put their outputs (seed: PAMOLA op_data_writer), on
 * local disk or any Storage. Every method returns a WriterResult with a SHA-256 of the stored
 * bytes and fails with DataWriteError (E040) naming the path, with the underlying error as cause.
 */
import { EventEmitter } from 'node:events';
import { type Figure, renderFigure } from '../charts/render.ts';
import { validateEncryptOptions } from '../crypto/age.ts';
import { Engine } from '../engine/duckdb.ts';
import { AlreadyExistsError, DataWriteError, ValidationError } from '../errors.ts';
import { stringifyJson } from '../formats/common.ts';
import { TempDir } from '../formats/spool.ts';
import type { Row } from '../formats/types.ts';
import { getLogger, type Logger } from '../logging/logger.ts';
import { openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { VERSION } from '../version.ts';
import { callerInfo } from './caller.ts';
import { appendItem, type JsonContext, mergeInto } from './json-update.ts';
import { lineageSettings, storedVersionInput, type WriterCall, WriterLineage } from './lineage.ts';
import { lockPathFor, withLock } from './lock.ts';
import { bytesOf, outputKey, putRecorded } from './output.ts';
import { readOutputBytes, readOutputRows } from './read-back.ts';
import { dictionaryRows } from './table.ts';
import type {
  AppendJsonArrayOptions,
  CommonWriteOptions,
  DataWriterOptions,
  MergeJsonOptions,
  Table,
  WriteDataframeOptions,
  WriteDictionaryOptions,
  WriteJsonOptions,
  WriteMetricsOptions,
  WriterEncryption,
  WriterProgressEvent,
  WriterResult,
  WriteVisualizationOptions,
  WrittenFile,
} from './types.ts';
import { writeFailure } from './write-failure.ts';
import { writeTable } from './write-table.ts';

export const TASK_SUBDIRS = ['output', 'dictionaries', 'logs', 'visualizations', 'metrics'] as const;

export class DataWriter extends EventEmitter<{ progress: [WriterProgressEvent] }> {
  readonly storage: Storage;
  private readonly options: DataWriterOptions;
  private readonly logger: Logger;
  private readonly ownsStorage: boolean;
  private readonly lineage: WriterLineage;
  private ready: Promise<void> | undefined;
  private engine: Promise<Engine> | undefined;
  private spill: TempDir | undefined;
  private closed = false;

  constructor(options: DataWriterOptions) {
    super();
    if (!options || (typeof options.taskDir !== 'string' && typeof options.taskDir?.put !== 'function')) {
      throw new ValidationError('DataWriter: `taskDir` must be a path, a storage URL or a Storage');
    }
    if (options.encryption) validateEncryptOptions(options.encryption);
    const timeout = options.lockTimeoutMs;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
      throw new ValidationError(
        `DataWriter: \`lockTimeoutMs\` must be a non-negative number, got ${timeout}`,
      );
    }
    this.options = options;
    this.ownsStorage = typeof options.taskDir === 'string';
    this.storage =
      typeof options.taskDir === 'string'
        ? openStorage(options.taskDir, options.storageOptions)
        : options.taskDir;
    this.logger = options.logger ?? getLogger();
    this.lineage = new WriterLineage(this.storage, lineageSettings(options), this.logger);
  }

  /** Creates the task folders (output/, dictionaries/, logs/, visualizations/, metrics/) on local disk. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      if (this.options.createFolders === false) return;
      if (!this.storage.capabilities.localFiles || !this.storage.localPath) return;
      const { mkdir } = await import('node:fs/promises');
      for (const dir of TASK_SUBDIRS) await mkdir(this.storage.localPath(dir), { recursive: true });
    })();
    return this.ready;
  }

  /** Whether this writer records lineage (option `lineage`, else the config's). */
  get recordsLineage(): boolean {
    return this.lineage.enabled;
  }

  /** Full location of a key: a local path or a URL. */
  location(key: string): string {
    if (this.storage.localPath) return this.storage.localPath(key);
    return this.storage.url.endsWith('/') ? `${this.storage.url}${key}` : `${this.storage.url}/${key}`;
  }

  /** Writes a table as CSV, Parquet, JSON or JSON Lines; partitioned with `partitionBy`. */
  writeDataframe(table: Table, name: string, options: WriteDataframeOptions = {}): Promise<WriterResult> {
    return this.run('writeDataframe', name, options.subdir ?? 'output', options, async (call) => {
      const encryption = this.encryptionFor(options);
      return writeTable(
        this.context(call),
        table,
        name,
        { ...options, subdir: options.subdir ?? 'output' },
        encryption,
      );
    });
  }

  /** Writes any JSON value (pretty by default, compact with `pretty: false`). */
  writeJson(data: unknown, name: string, options: WriteJsonOptions = {}): Promise<WriterResult> {
    return this.run('writeJson', name, options.subdir, options, (call) =>
      this.putJson(call, data, name, options),
    );
  }

  /** Renders a Vega-Lite spec, SVG text or PNG bytes to `visualizations/name.(png|svg)`. */
  writeVisualization(
    figure: Figure,
    name: string,
    options: WriteVisualizationOptions = {},
  ): Promise<WriterResult> {
    const subdir = options.subdir ?? 'visualizations';
    return this.run('writeVisualization', name, subdir, options, async (call) => {
      const format = options.format ?? 'png';
      const encryption = this.encryptionFor(options);
      const key = this.keyFor(name, format, subdir, options, encryption);
      await this.checkOverwrite(key, options);
      const bytes = await renderFigure(figure, {
        format,
        ...(options.scale ? { scale: options.scale } : {}),
      });
      const file = await putRecorded(call, this.storage, key, bytesOf(bytes), {
        encryption,
        overwrite: options.overwrite ?? true,
        contentType: format === 'png' ? 'image/png' : 'image/svg+xml',
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return this.result(file, format, encryption);
    });
  }

  /** Writes a dictionary (mapping or rows) to `dictionaries/` as JSON, CSV or Parquet. */
  writeDictionary(data: unknown, name: string, options: WriteDictionaryOptions = {}): Promise<WriterResult> {
    const subdir = options.subdir ?? 'dictionaries';
    const format = options.format ?? 'json';
    if (format === 'json') {
      return this.run('writeDictionary', name, subdir, options, (call) =>
        this.putJson(call, data, name, { ...options, subdir }),
      );
    }
    return this.run('writeDictionary', name, subdir, options, async (call) => {
      return writeTable(
        this.context(call),
        dictionaryRows(data),
        name,
        { ...options, format, subdir },
        this.encryptionFor(options),
      );
    });
  }

  /** Writes metrics wrapped with `{timestamp, name, operation, sluiceVersion}` to `metrics/`. */
  writeMetrics(metrics: unknown, name: string, options: WriteMetricsOptions = {}): Promise<WriterResult> {
    const operation = options.operation ?? callerInfo();
    const subdir = options.subdir ?? 'metrics';
    return this.run('writeMetrics', name, subdir, options, (call) =>
      this.putJson(
        call,
        { timestamp: new Date().toISOString(), name, operation, sluiceVersion: VERSION, metrics },
        name,
        { ...options, subdir, timestampInName: options.timestampInName ?? true },
      ),
    );
  }

  /** Appends one item to a JSON array file under a lock; a corrupt or non-array file raises and is kept. */
  appendToJsonArray(
    item: unknown,
    name: string,
    options: AppendJsonArrayOptions = {},
  ): Promise<WriterResult> {
    return this.run('appendToJsonArray', name, options.subdir, options, async (call) => {
      const encryption = this.encryptionFor(options);
      const key = this.keyFor(name, 'json', options.subdir, {}, encryption);
      return this.locked(key, () => appendItem(this.jsonContext(call), key, item, options, encryption));
    });
  }

  /** Merges an object into a JSON object file under a lock (recursive by default). */
  mergeJsonObjects(
    data: Record<string, unknown>,
    name: string,
    options: MergeJsonOptions = {},
  ): Promise<WriterResult> {
    return this.run('mergeJsonObjects', name, options.subdir, options, async (call) => {
      if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        throw new ValidationError('mergeJsonObjects: `data` must be a plain object');
      }
      const encryption = this.encryptionFor(options);
      const key = this.keyFor(name, 'json', options.subdir, {}, encryption);
      return this.locked(key, () => mergeInto(this.jsonContext(call), key, data, options, encryption));
    });
  }

  /** Reads an output back as bytes, decrypting `.age` files with the writer's identities. */
  readOutput(key: string): Promise<Buffer> {
    return readOutputBytes(this.storage, key, this.options.encryption);
  }

  /** Streams an output's rows back (by its extension), decrypting `.age` files. */
  readOutputRows(key: string): AsyncIterable<Row> {
    return readOutputRows(this.storage, key, this.options.encryption);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const engine = await this.engine?.catch(() => undefined);
    await engine?.close();
    await this.spill?.close();
    await this.lineage.close();
    if (this.ownsStorage) await this.storage.close();
  }

  // --- internals -------------------------------------------------------------------------

  private context(call: WriterCall) {
    return {
      call,
      storage: this.storage,
      engine: () => this.getEngine(),
      progress: (event: WriterProgressEvent) => this.progress(event),
      result: (
        file: WrittenFile,
        format: string,
        encryption: WriterEncryption | undefined,
        files?: WrittenFile[],
      ) => this.result(file, format, encryption, files),
      checkOverwrite: (key: string, options: CommonWriteOptions) => this.checkOverwrite(key, options),
    };
  }

  private jsonContext(call: WriterCall): JsonContext {
    return {
      storage: this.storage,
      // The file's version read is an input of the new one.
      putJson: (key, data, pretty, encryption, options, rows, read) =>
        this.putJsonAt(call, key, data, pretty, encryption, options, rows, read),
    };
  }

  private getEngine(): Promise<Engine> {
    // Bounded memory with a spill directory: a 5M-row table loads without growing the process.
    this.engine ??= (async () => {
      this.spill = await TempDir.create('writer-duckdb');
      return Engine.create({
        threads: this.options.duckdb?.threads ?? 1,
        memoryLimit: this.options.duckdb?.memoryLimit ?? '96MB',
        tempDirectory: this.spill.dir,
      });
    })();
    return this.engine;
  }

  private progress(event: WriterProgressEvent): void {
    this.options.progress?.(event);
    this.emit('progress', event);
  }

  private encryptionFor(options: CommonWriteOptions): WriterEncryption | undefined {
    if (options.encryption === false) return undefined;
    const encryption = options.encryption ?? this.options.encryption;
    if (encryption && options.encryption) validateEncryptOptions(encryption);
    return encryption;
  }

  private keyFor(
    name: string,
    extension: string,
    subdir: string | undefined,
    options: { timestampInName?: boolean },
    encryption: WriterEncryption | undefined,
  ): string {
    return outputKey(name, extension, {
      ...(subdir ? { subdir } : {}),
      timestampInName: options.timestampInName ?? false,
      encrypted: encryption !== undefined,
    });
  }

  private async checkOverwrite(key: string, options: CommonWriteOptions): Promise<void> {
    if (options.overwrite === false && (await this.storage.exists(key))) {
      throw new AlreadyExistsError(`${key} already exists and overwrite is false`, { context: { key } });
    }
  }

  private async putJson(
    call: WriterCall,
    data: unknown,
    name: string,
    options: WriteJsonOptions,
  ): Promise<WriterResult> {
    const encryption = this.encryptionFor(options);
    const key = this.keyFor(name, 'json', options.subdir, options, encryption);
    await this.checkOverwrite(key, options);
    return this.putJsonAt(call, key, data, options.pretty ?? true, encryption, options);
  }

  private async putJsonAt(
    call: WriterCall,
    key: string,
    data: unknown,
    pretty: boolean,
    encryption: WriterEncryption | undefined,
    options: CommonWriteOptions,
    rows?: number,
    read?: Buffer,
  ): Promise<WriterResult> {
    const text = pretty ? `${stringifyJson(data, 2)}\n` : stringifyJson(data);
    const previous = read && call.enabled ? [storedVersionInput(this.storage, key, read)] : [];
    const put = {
      encryption,
      overwrite: options.overwrite ?? true,
      contentType: 'application/json',
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const file = await putRecorded(call, this.storage, key, bytesOf(text), put, { rows, read: previous });
    return this.result(file, 'json', encryption);
  }

  private locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return withLock(lockPathFor(this.storage, key), fn, {
      ...(this.options.lockTimeoutMs === undefined ? {} : { timeoutMs: this.options.lockTimeoutMs }),
    });
  }

  private result(
    file: WrittenFile,
    format: string,
    encryption: WriterEncryption | undefined,
    files?: WrittenFile[],
  ): WriterResult {
    const result: WriterResult = {
      path: file.path,
      location: this.location(file.path),
      sizeBytes: file.sizeBytes,
      timestamp: new Date().toISOString(),
      format,
      sha256: file.sha256,
      encrypted: encryption !== undefined,
      ...(file.rows === undefined ? {} : { rows: file.rows }),
      ...(files ? { files } : {}),
    };
    this.logger.debug(
      { path: result.path, sizeBytes: result.sizeBytes, format, encrypted: result.encrypted },
      'output written',
    );
    return result;
  }

  /** Runs one call under its lineage records (`writer.<method>`): before its first await, while the caller is on the stack. */
  private async run(
    method: string,
    name: string,
    subdir: string | undefined,
    options: CommonWriteOptions,
    fn: (call: WriterCall) => Promise<WriterResult>,
  ): Promise<WriterResult> {
    if (this.closed) throw new DataWriteError(`DataWriter.${method}: the writer is closed`);
    const call = this.lineage.call(`writer.${method}`, options.inputs);
    try {
      await this.init();
      const result = await fn(call);
      await call.end(result);
      return result;
    } catch (error) {
      const reported = writeFailure(method, subdir ? `${subdir}/${name}` : name, error);
      await call.fail(reported);
      throw reported;
    }
  }
}
