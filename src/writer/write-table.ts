/** writeDataframe's work: single files through the format layer, DuckDB queries and Hive partitions. */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Engine } from '../engine/duckdb.ts';
import { AlreadyExistsError, ValidationError } from '../errors.ts';
import { fileChunks } from '../formats/spool.ts';
import type { Rows } from '../formats/types.ts';
import { removeEmptyParents } from '../storage/empty-dirs.ts';
import { joinKey } from '../storage/keys.ts';
import type { Storage } from '../storage/types.ts';
import { throttleProgress } from '../util/progress.ts';
import type { WriterCall } from './lineage.ts';
import { outputKey, putOutput } from './output.ts';
import { parquetFields, parquetRowCounts } from './parquet-facts.ts';
import { assertTable, countRows, encodeRows, isSqlTable, stageWithDuckDB } from './table.ts';
import type {
  CommonWriteOptions,
  DataframeFormat,
  Table,
  WriteDataframeOptions,
  WriterEncryption,
  WriterProgressEvent,
  WriterResult,
  WrittenFile,
} from './types.ts';

const FORMATS: readonly DataframeFormat[] = ['csv', 'parquet', 'json', 'jsonl'];
const CONTENT_TYPES: Record<DataframeFormat, string> = {
  csv: 'text/csv',
  parquet: 'application/vnd.apache.parquet',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
};

export interface TableContext {
  storage: Storage;
  engine: () => Promise<Engine>;
  progress: (event: WriterProgressEvent) => void;
  result: (
    file: WrittenFile,
    format: string,
    encryption: WriterEncryption | undefined,
    files?: WrittenFile[],
  ) => WriterResult;
  checkOverwrite: (key: string, options: CommonWriteOptions) => Promise<void>;
  /** The call's lineage records: each file's intent before it is put, its commit after. */
  call: WriterCall;
}

export async function writeTable(
  ctx: TableContext,
  table: Table,
  name: string,
  options: WriteDataframeOptions & { subdir: string },
  encryption: WriterEncryption | undefined,
): Promise<WriterResult> {
  const format = options.format ?? 'csv';
  if (!FORMATS.includes(format)) {
    throw new ValidationError(`\`format\` must be one of ${FORMATS.join(', ')}, got ${String(format)}`);
  }
  assertTable(table);
  const partitionBy =
    options.partitionBy === undefined
      ? []
      : typeof options.partitionBy === 'string'
        ? [options.partitionBy]
        : [...options.partitionBy];
  for (const col of partitionBy) {
    if (typeof col !== 'string' || col === '') throw new ValidationError('`partitionBy` must name columns');
  }
  const common = {
    encryption,
    overwrite: options.overwrite ?? true,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const stamp = {
    subdir: options.subdir,
    timestampInName: options.timestampInName ?? false,
    now: new Date(),
  };
  const operation = `write ${name}`;
  // Rows are counted every 10,000; a listener hears of them a few times a second at most.
  const report: (event: WriterProgressEvent) => void = throttleProgress(ctx.progress) ?? ctx.progress;
  const onRows = (done: number) => report({ operation, done, unit: 'rows' });
  // While DuckDB runs a query over a file of known size: bytes of it read, by DuckDB's estimate.
  const inputBytes = isSqlTable(table) ? table.inputBytes : undefined;
  const onCopyProgress =
    inputBytes === undefined
      ? undefined
      : (fraction: number) =>
          report({ operation, done: Math.round(fraction * inputBytes), total: inputBytes, unit: 'bytes' });
  const gzip = checkCompression(format, options.compression, partitionBy.length > 0);

  if (partitionBy.length > 0) {
    const base = outputKey(name, '', { ...stamp, encrypted: false });
    const existing = await listUnder(ctx.storage, base);
    if (existing.length > 0 && options.overwrite === false) {
      throw new AlreadyExistsError(`${base}/ already holds ${existing.length} files and overwrite is false`, {
        context: { key: base },
      });
    }
    const staged = await stageWithDuckDB(table, format, {
      ...options,
      engine: await ctx.engine(),
      partitionBy,
      onRows,
      ...(onCopyProgress ? { onCopyProgress } : {}),
    });
    try {
      const keys = staged.files.map(({ relative }) =>
        joinKey(base, `${relative}${encryption ? '.age' : ''}`),
      );
      const rowCounts = await describeStaged(ctx, staged.files, format, true);
      // Every partition's intent is durable, in one log object, before the first is put.
      const ids = await ctx.call.declare(keys, base);
      const files: WrittenFile[] = [];
      for (const [i, { file }] of staged.files.entries()) {
        const put = await putOutput(ctx.storage, keys[i] as string, fileChunks(file), {
          ...common,
          overwrite: true,
          contentType: CONTENT_TYPES[format],
        });
        ctx.call.commit(ids[i], { ...put, ...(rowCounts ? { rows: rowCounts[i] as number } : {}) });
        files.push(put);
        ctx.progress({ operation, done: i + 1, total: staged.files.length, unit: 'files' });
      }
      // Partitions of an earlier run that this one did not produce would otherwise mix in.
      const written = new Set(files.map((f) => f.path));
      const stale = existing.filter((k) => !written.has(k));
      if (stale.length > 0) {
        await ctx.call.deleting(stale);
        await ctx.storage.deleteMany(stale);
        // On local disk their folders (`region=b/`) go too, as on S3: a glob sees only this run.
        const local = ctx.storage.localPath?.bind(ctx.storage);
        if (local) await removeEmptyParents(local(base), stale.map(local));
      }
      const manifest = files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
      const size = files.reduce((sum, f) => sum + f.sizeBytes, 0);
      ctx.progress({ operation, done: staged.rows, total: staged.rows, unit: 'rows' });
      return ctx.result(
        {
          path: base,
          sizeBytes: size,
          sha256: createHash('sha256').update(manifest).digest('hex'),
          rows: staged.rows,
        },
        format,
        encryption,
        files,
      );
    } finally {
      await staged.temp.close();
    }
  }

  const key = outputKey(name, gzip ? `${format}.gz` : format, {
    ...stamp,
    encrypted: encryption !== undefined,
  });
  const contentType = gzip ? 'application/gzip' : CONTENT_TYPES[format];
  await ctx.checkOverwrite(key, options);
  if (isSqlTable(table) || format === 'parquet') {
    const staged = await stageWithDuckDB(table, format, {
      ...options,
      partitionBy: [],
      engine: await ctx.engine(),
      onRows,
      ...(onCopyProgress ? { onCopyProgress } : {}),
    });
    try {
      const first = staged.files[0];
      if (!first) throw new ValidationError('the query produced no file');
      await describeStaged(ctx, staged.files, format, false);
      const bytes = gzip ? undefined : (await stat(first.file)).size;
      const file = await ctx.call.put(key, async () => ({
        ...(await putOutput(ctx.storage, key, maybeGzip(fileChunks(first.file), gzip), {
          ...common,
          contentType,
          // Gzipped, the bytes put are not the staged file's: no total then.
          onBytes: storeProgress(report, name, bytes),
        })),
        rows: staged.rows,
      }));
      ctx.progress({ operation, done: staged.rows, total: staged.rows, unit: 'rows' });
      return ctx.result(file, format, encryption);
    } finally {
      await staged.temp.close();
    }
  }
  const counter = { rows: 0 };
  const isArray = Array.isArray(table);
  const rows: Rows = isArray ? (table as Rows) : countRows(table as Rows, counter, onRows);
  const engine = await ctx.engine();
  const file = await ctx.call.put(key, async () => {
    const put = await putOutput(
      ctx.storage,
      key,
      maybeGzip(encodeRows(rows, format, { ...options, engine }), gzip),
      {
        ...common,
        contentType,
      },
    );
    return { ...put, rows: isArray ? (table as unknown[]).length : counter.rows };
  });
  ctx.progress({ operation, done: file.rows, total: file.rows, unit: 'rows' });
  return ctx.result(file, format, encryption);
}

/**
 * For lineage, from the staged Parquet files' footers: the schema when OpenLineage events are
 * sent, and each file's rows (returned) for a partitioned table's commits. Nothing otherwise.
 */
async function describeStaged(
  ctx: TableContext,
  staged: readonly { file: string }[],
  format: DataframeFormat,
  partitioned: boolean,
): Promise<number[] | undefined> {
  if (format !== 'parquet' || !ctx.call.enabled) return undefined;
  const files = staged.map((s) => s.file);
  const engine = await ctx.engine();
  if (ctx.call.exportsEvents) ctx.call.fields = await parquetFields(engine, files, partitioned);
  return partitioned ? parquetRowCounts(engine, files) : undefined;
}

/** Bytes of a staged file put into the task storage (an upload, on S3): `store <name>`. */
function storeProgress(
  report: (event: WriterProgressEvent) => void,
  name: string,
  total: number | undefined,
): (bytes: number) => void {
  return (done) =>
    report({ operation: `store ${name}`, done, ...(total === undefined ? {} : { total }), unit: 'bytes' });
}

/** Parquet compresses inside the file; csv/json/jsonl may be gzipped whole (`.csv.gz`). */
function checkCompression(
  format: DataframeFormat,
  compression: string | undefined,
  partitioned: boolean,
): boolean {
  if (compression === undefined || format === 'parquet') return false;
  if (compression === 'uncompressed') return false;
  if (compression !== 'gzip' || partitioned) {
    throw new ValidationError(
      `\`compression\` ${JSON.stringify(compression)} does not apply to ${partitioned ? 'partitioned ' : ''}${format} output: ${partitioned ? 'only Parquet partitions are compressed' : "use 'gzip' (a .gz file) or leave it unset"}`,
    );
  }
  return true;
}

function maybeGzip(source: AsyncIterable<Uint8Array>, gzip: boolean): AsyncIterable<Uint8Array> {
  if (!gzip) return source;
  const zipped = createGzip();
  pipeline(Readable.from(source, { objectMode: false }), zipped).catch((error: unknown) =>
    zipped.destroy(error as Error),
  );
  return zipped;
}

async function listUnder(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of storage.list({ prefix: `${prefix}/`, recursive: true })) {
    if (entry.type === 'object') keys.push(entry.key);
  }
  return keys;
}
