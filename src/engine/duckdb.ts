/**
 * The one place that owns DuckDB instances. Domain modules ask for a connection here and never
 * import @duckdb/node-api themselves, so settings (threads, memory, timezone) and error mapping
 * stay in one file. DuckDB reads and writes local files only (httpfs is not available offline):
 * S3 data is staged to local temp files by the caller through the storage layer.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { DuckDBError, SluiceError } from '../errors.ts';
import { diskFull, fromOsError } from '../os-errors.ts';

export type { DuckDBConnection };

export interface EngineOptions {
  /** Database file, or ':memory:'. @default ':memory:' */
  path?: string;
  /** Worker threads. @default DuckDB's default (all cores) */
  threads?: number;
  /** e.g. '1GB'. @default DuckDB's default (80% of RAM) */
  memoryLimit?: string;
  /** Directory for spilling. @default DuckDB's default */
  tempDirectory?: string;
}

export class Engine {
  private closed = false;
  private readonly instance: DuckDBInstance;
  readonly path: string;

  private constructor(instance: DuckDBInstance, path: string) {
    this.instance = instance;
    this.path = path;
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const settings: Record<string, string> = {};
    if (options.threads !== undefined) settings.threads = String(options.threads);
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    if (options.tempDirectory) settings.temp_directory = options.tempDirectory;
    const path = options.path ?? ':memory:';
    try {
      const instance = await DuckDBInstance.create(path, settings);
      // Timestamps are UTC everywhere in sluice; TimeZone needs icu, which cannot be set at create.
      const conn = await instance.connect();
      try {
        await conn.run("LOAD icu; SET GLOBAL TimeZone='UTC'");
      } finally {
        conn.closeSync();
      }
      return new Engine(instance, path);
    } catch (error) {
      throw new DuckDBError(`Cannot open DuckDB database ${path}: ${(error as Error).message}`, {
        cause: error,
        context: { path },
      });
    }
  }

  async connect(): Promise<DuckDBConnection> {
    if (this.closed) throw new DuckDBError(`DuckDB engine ${this.path} is closed`);
    return this.instance.connect();
  }

  /** Runs `fn` with a fresh connection, closed afterwards; DuckDB failures become DuckDBError (E006). */
  async withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.connect();
    try {
      return await fn(conn);
    } catch (error) {
      throw wrapDuckDBError(error);
    } finally {
      conn.closeSync();
    }
  }

  /** Runs SQL and returns rows as plain objects (BigInt kept as BigInt). */
  async query<T = Record<string, unknown>>(
    sql: string,
    params?: Record<string, unknown> | unknown[],
  ): Promise<T[]> {
    return this.withConnection(async (conn) => {
      const reader = await conn.runAndReadAll(sql, params as never);
      return reader.getRowObjectsJS() as T[];
    });
  }

  /** Runs SQL for its effect. */
  async run(sql: string, params?: Record<string, unknown> | unknown[]): Promise<void> {
    await this.withConnection(async (conn) => {
      await conn.run(sql, params as never);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.instance.closeSync();
  }
}

/** What a caller of an Engine needs to run queries: {@link Engine} or {@link LazyEngine}. */
export type Connections = Pick<Engine, 'withConnection'>;

/**
 * An Engine started on first use. A DuckDB instance costs about 13 MiB of resident memory and its
 * threads as soon as it exists; a time-series writer that only appends and compacts (sluice's
 * own Parquet encoder) never needs one, so it should not pay for one.
 */
export class LazyEngine implements Connections {
  private engine: Promise<Engine> | undefined;
  private closed = false;
  private readonly options: EngineOptions;

  constructor(options: EngineOptions = {}) {
    this.options = options;
  }

  /** Whether a DuckDB instance has been started (for tests and memory accounting). */
  get started(): boolean {
    return this.engine !== undefined;
  }

  private get(): Promise<Engine> {
    if (this.closed) return Promise.reject(new DuckDBError('DuckDB engine is closed'));
    if (!this.engine) {
      const created = Engine.create(this.options);
      // A failed start is tried again by the next caller, not remembered.
      created.catch(() => {
        if (this.engine === created) this.engine = undefined;
      });
      this.engine = created;
    }
    return this.engine;
  }

  async withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return (await this.get()).withConnection(fn);
  }

  /** Starts the instance now (a caller that will query anyway, so its first query is not slower). */
  async start(): Promise<void> {
    await this.get();
  }

  /** Closes the instance if one was started; safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const engine = this.engine;
    this.engine = undefined;
    if (engine) await (await engine.catch(() => undefined))?.close();
  }
}

export function wrapDuckDBError(error: unknown, context: Record<string, unknown> = {}): SluiceError {
  if (error instanceof SluiceError) return error;
  const full = diskFullIn(error);
  if (full) return full;
  return new DuckDBError(`DuckDB: ${(error as Error).message ?? String(error)}`, { cause: error, context });
}

/** Quotes an identifier for SQL: `my "col"` → `"my ""col"""`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for SQL (file paths in COPY/read_parquet). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The reason in a DuckDB error, in words a user can act on: its first line, without the error
 * class prefix, the echoed SQL (`LINE 1: …`) or the sniffer's settings dump that follow.
 */
export function duckdbReason(error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  const first = message
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !/^(Invalid Input|Conversion|IO|Binder|Parser) Error:?$/.test(l));
  return (first ?? 'DuckDB could not read it').replace(/^(DuckDB: )?[A-Za-z ]+ Error: /, '');
}

/**
 * DuckDB's `IO Error: Could not write file "…": No space left on device` as the OS error it is
 * (E012 `disk full writing …` naming the file), not E006 with DuckDB's wording.
 */
function diskFullIn(error: unknown): SluiceError | undefined {
  const message = String((error as Error)?.message ?? '');
  if (!/No space left on device/i.test(message)) return undefined;
  const file = /"([^"]+)"/.exec(message)?.[1];
  return fromOsError(
    diskFull(file ?? 'a DuckDB file', 'write', error),
    file === undefined ? {} : { path: file },
  );
}
