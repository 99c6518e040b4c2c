/**
 * Parquet through DuckDB (src/engine). Rows are staged to a temp JSONL file and converted with
 * `COPY … TO … (FORMAT parquet)`, so JavaScript memory stays bounded and DuckDB streams the
 * conversion; the finished file is streamed out and the temp files removed. Reading streams
 * DuckDB result chunks. S3 objects are staged to a local temp file (no httpfs offline).
 */
import { Engine, quoteIdent, quoteLiteral } from '../engine/duckdb.ts';
import { FormatError } from '../errors.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import { iterateRows, putEncoded } from './common.ts';
import { jsonlWriter } from './jsonl.ts';
import { fileChunks, spoolToFile, TempDir } from './spool.ts';
import type { ByteSource, Format, FormatReader, FormatWriter, Row, Rows } from './types.ts';

export type ParquetCompression = 'zstd' | 'snappy' | 'gzip' | 'uncompressed';

/** Column name → DuckDB type (`BIGINT`, `DOUBLE`, `VARCHAR`, `TIMESTAMP`, `BOOLEAN`, …), in column order. */
export type ParquetSchema = Record<string, string>;

export interface ParquetWriteOptions {
  /** Explicit column types; columns not listed are dropped. @default inferred from all rows by DuckDB */
  schema?: ParquetSchema;
  /** @default 'zstd' */
  compression?: ParquetCompression;
  /** Rows per row group. @default DuckDB's (122,880) */
  rowGroupSize?: number;
  /** DuckDB engine to use. @default a private in-memory engine, closed afterwards */
  engine?: Engine;
}

export interface ParquetReadOptions {
  /** Only these columns, in this order. @default all */
  columns?: readonly string[];
  engine?: Engine;
}

const COMPRESSIONS = new Set<string>(['zstd', 'snappy', 'gzip', 'uncompressed']);
const SAFE_TYPE = /^[A-Za-z][A-Za-z0-9_ ,()[\]]*$/;

function schemaSql(schema: ParquetSchema): string {
  const entries = Object.entries(schema);
  if (entries.length === 0) throw new FormatError('parquet: schema has no columns');
  return `{${entries
    .map(([name, type]) => {
      if (!SAFE_TYPE.test(type))
        throw new FormatError(
          `parquet: schema type for column ${JSON.stringify(name)} is not a type name: ${JSON.stringify(type)}`,
        );
      return `${quoteLiteral(name)}: ${quoteLiteral(type)}`;
    })
    .join(', ')}}`;
}

async function withEngine<T>(engine: Engine | undefined, fn: (engine: Engine) => Promise<T>): Promise<T> {
  if (engine) return fn(engine);
  const own = await Engine.create({ threads: 1 });
  try {
    return await fn(own);
  } finally {
    await own.close();
  }
}

/** DuckDB BIGINTs become numbers when exact, so rows compare equal to what was written. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  return value;
}

/** Writes rows to a local Parquet file. Returns the number of rows. */
export async function writeParquetFile(
  file: string,
  rows: Rows,
  options: ParquetWriteOptions & { signal?: AbortSignal } = {},
): Promise<number> {
  const compression = options.compression ?? 'zstd';
  if (!COMPRESSIONS.has(compression)) {
    throw new RangeError(
      `parquet: compression must be one of ${[...COMPRESSIONS].join(', ')}, got ${compression}`,
    );
  }
  const temp = await TempDir.create('parquet-in');
  try {
    let count = 0;
    async function* counted(): AsyncIterable<Row> {
      for await (const row of iterateRows(rows, options.signal)) {
        count++;
        yield row;
      }
    }
    const staged = temp.file('rows.jsonl');
    await spoolToFile(staged, jsonlWriter.encode(counted()));
    if (count === 0 && !options.schema) {
      throw new FormatError(
        `parquet: cannot infer a schema from zero rows for ${file}; pass options.schema to write an empty file`,
        { context: { file } },
      );
    }
    const source = options.schema
      ? `read_json(${quoteLiteral(staged)}, format='newline_delimited', columns=${schemaSql(options.schema)})`
      : `read_json(${quoteLiteral(staged)}, format='newline_delimited', sample_size=-1)`;
    const extra = options.rowGroupSize ? `, ROW_GROUP_SIZE ${Math.floor(options.rowGroupSize)}` : '';
    await withEngine(options.engine, (engine) =>
      engine.run(
        `COPY (SELECT * FROM ${source}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION ${compression}${extra})`,
      ),
    );
    return count;
  } finally {
    await temp.close();
  }
}

/** Streams the rows of a local Parquet file. */
export async function* readParquetFile(
  file: string,
  options: ParquetReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const own = options.engine ? undefined : await Engine.create({ threads: 1 });
  const engine = options.engine ?? own!;
  const conn = await engine.connect();
  try {
    const cols = options.columns ? options.columns.map(quoteIdent).join(', ') : '*';
    let result: Awaited<ReturnType<typeof conn.stream>>;
    try {
      result = await conn.stream(`SELECT ${cols} FROM read_parquet(${quoteLiteral(file)})`);
    } catch (error) {
      throw new FormatError(`parquet: cannot read ${file}: ${(error as Error).message}`, {
        cause: error,
        context: { file },
      });
    }
    for await (const batch of result.yieldRowObjectJs()) {
      if (options.signal?.aborted) throw options.signal.reason;
      for (const row of batch) {
        const out: Row = {};
        for (const [k, v] of Object.entries(row)) out[k] = plainValue(v);
        yield out;
      }
    }
  } finally {
    conn.closeSync();
    await own?.close();
  }
}

async function* encodeParquet(
  rows: Rows,
  options: ParquetWriteOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Uint8Array> {
  const temp = await TempDir.create('parquet-out');
  try {
    const file = temp.file('data.parquet');
    await writeParquetFile(file, rows, options);
    yield* fileChunks(file);
  } finally {
    await temp.close();
  }
}

async function* decodeParquet(
  bytes: ByteSource,
  options: ParquetReadOptions & { signal?: AbortSignal } = {},
): AsyncIterable<Row> {
  const temp = await TempDir.create('parquet-in');
  try {
    const file = temp.file('data.parquet');
    await spoolToFile(file, bytes);
    yield* readParquetFile(file, options);
  } finally {
    await temp.close();
  }
}

export const parquetWriter: FormatWriter<ParquetWriteOptions> = {
  format: 'parquet',
  extension: 'parquet',
  contentType: CONTENT_TYPES.parquet,
  encode: encodeParquet,
  write(storage, key, rows, options = {}) {
    return putEncoded(
      storage,
      key,
      'parquet',
      this.contentType,
      (r) => encodeParquet(r, options),
      rows,
      options,
    );
  },
};

export const parquetReader: FormatReader<ParquetReadOptions> = {
  format: 'parquet',
  decode: decodeParquet,
  async *read(storage, key, options = {}) {
    if (storage.capabilities.localFiles && storage.localPath) {
      if (!(await storage.exists(key))) await storage.stat(key); // NotFoundError naming the key
      yield* readParquetFile(storage.localPath(key), options);
      return;
    }
    const stream = await storage.getStream(key, options.signal ? { signal: options.signal } : {});
    yield* decodeParquet(stream, options);
  },
};

export const parquet: Format<ParquetWriteOptions, ParquetReadOptions> = {
  name: 'parquet',
  writer: parquetWriter,
  reader: parquetReader,
};
