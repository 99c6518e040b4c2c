/**
 * CSV → Parquet through DuckDB with explicit column types (the seed's DataIngester). Parsing,
 * casting and the search for bad rows all happen inside DuckDB; JavaScript only reads the header.
 * Output is written to a temp file, hashed, and published to the lake with one atomic put.
 */
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import type { Environment } from '../config/schema.ts';
import { type DuckDBConnection, Engine, quoteLiteral, wrapDuckDBError } from '../engine/duckdb.ts';
import { withQueryProgress } from '../engine/query-progress.ts';
import { NotFoundError, SchemaValidationError, type SluiceError, toSluiceError } from '../errors.ts';
import {
  checkCsvForDuckdb,
  fullCheck,
  isLineTooLong,
  longestCsvRecord,
  readCsvHeader,
  strictReadCsvOptions,
  validateCsvFile,
} from '../formats/csv-duckdb.ts';
import { assertValidKey } from '../storage/keys.ts';
import { openObjectUrl, openStorage } from '../storage/open.ts';
import type { ProgressFn } from '../util/progress.ts';
import { retry } from '../util/retry.ts';
import { checkHeader, collectRejects, rejectCopySql, rejectsError } from './csv-check.ts';
import { Lake, makeTempDir } from './lake.ts';
import { type ColumnRecord, writeLoadRecord } from './load-records.ts';
import { type PipelineOptions, storageOptionsFrom } from './options.ts';
import { publishParquet } from './publish-parquet.ts';
import { type ColumnSchema, duckdbColumnsLiteral, loadSchemaFile, parseSchema } from './schema.ts';
import { downloadVerified } from './verified-get.ts';

export interface IngestCsvOptions {
  /** Write bad rows here (CSV) and load the good ones, instead of failing with E003. */
  rejectFile?: string;
  /** File name inside the source (without .parquet). @default the CSV's base name */
  name?: string;
  /** @default config.env */
  env?: Environment;
  signal?: AbortSignal;
  /** Bytes of the CSV converted so far (DuckDB's estimate, a few times a second): `ingest`, detail `<source>/<name>`. */
  onProgress?: ProgressFn;
}

export interface IngestResult {
  file: string;
  source: string;
  name: string;
  /** Key in the lake: `<env>/landing/<source>/<name>.parquet`. */
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  rejected: number;
  durationMs: number;
}

export interface IngestFileOutcome {
  file: string;
  source: string;
  name: string;
  ok: boolean;
  result?: IngestResult;
  error?: SluiceError;
}

const isUrl = (p: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(p) && !p.startsWith('file://');

/** Raw files directly under data/raw/ land in this source. */
export const ROOT_SOURCE = '_root';

/** Progress of one conversion as bytes of the CSV, from DuckDB's share done; undefined without a listener. */
async function conversionProgress(
  file: string,
  detail: string,
  onProgress: ProgressFn | undefined,
): Promise<((fraction: number) => void) | undefined> {
  if (!onProgress) return undefined;
  const total = (await fsp.stat(file)).size;
  return (fraction) =>
    onProgress({ operation: 'ingest', done: Math.round(fraction * total), total, unit: 'bytes', detail });
}

/** CSV → Parquet through DuckDB with explicit column types; the seed's DataIngester. */
export class DataIngester {
  readonly config: Config;
  readonly lake: Lake;
  private readonly options: PipelineOptions;
  private engine?: Promise<Engine>;

  constructor(config: Config, options: PipelineOptions = {}) {
    this.config = config;
    this.options = options;
    this.lake = new Lake(
      options.lake ?? openStorage(config.lakeRoot, options.storageOptions ?? storageOptionsFrom(config)),
    );
  }

  private getEngine(): Promise<Engine> {
    this.engine ??= Engine.create(this.options.threads ? { threads: this.options.threads } : {});
    return this.engine;
  }

  /** Converts one CSV to `<env>/landing/<source>/<name>.parquet`, published atomically with a load record. */
  async ingestCsv(
    filePath: string,
    source: string,
    schema?: ColumnSchema,
    options: IngestCsvOptions = {},
  ): Promise<IngestResult> {
    const started = performance.now();
    const env = options.env ?? this.config.env;
    const name = options.name ?? path.basename(filePath).replace(/\.csv$/i, '');
    const rel = `landing/${source}/${name}.parquet`;
    assertValidKey(rel);
    const tmp = await makeTempDir('ingest');
    try {
      const local = await this.stageInput(filePath, tmp.dir);
      // The header is read strictly first (E021 for an empty or duplicate name), then checked
      // against the schema (E003).
      await readCsvHeader(local, { source: filePath, uniqueIgnoringCase: true });
      if (schema) {
        parseSchema(schema, `schema for ${filePath}`);
        await checkHeader(local, schema, filePath);
      }
      const out = path.join(tmp.dir, 'out.parquet');
      const engine = await this.getEngine();
      // DuckDB misreads some broken files without a word (a stray quote becomes data), so sluice
      // checks the same file while DuckDB converts it, and its verdict comes first.
      const ragged = options.rejectFile !== undefined;
      const onFraction = await conversionProgress(local, `${source}/${name}`, options.onProgress);
      const check = checkCsvForDuckdb(local, {
        source: filePath,
        allowRagged: ragged,
      });
      const convert = (longest?: number) =>
        engine.withConnection((conn) =>
          withQueryProgress(conn, onFraction, () =>
            this.convert(
              conn,
              local,
              out,
              schema,
              options.rejectFile,
              filePath,
              strictReadCsvOptions(longest),
            ),
          ),
        );
      const conversion = convert().catch(async (error: unknown) => {
        if (isLineTooLong(error)) return convert(await longestCsvRecord(local, filePath));
        throw error;
      });
      const [checked, converted] = await Promise.allSettled([check, conversion]);
      if (checked.status === 'rejected') throw checked.reason;
      if (converted.status === 'rejected') {
        // DuckDB refused: the tokenizer names file, line and column if the structure is at fault.
        await fullCheck(local, { source: filePath, allowRagged: ragged });
        throw converted.reason;
      }
      const { rows, rejected, columns } = converted.value;
      options.signal?.throwIfAborted();
      const { bytes, sha256 } = await publishParquet(this.lake.env(env), rel, out, rows);
      await writeLoadRecord(this.lake.internal(env), {
        path: rel,
        source,
        name,
        file: isUrl(filePath) ? filePath : path.resolve(filePath),
        rows,
        bytes,
        sha256,
        rejected,
        columns,
        schema: schema ?? null,
        loadedAt: new Date().toISOString(),
      });
      return {
        file: filePath,
        source,
        name,
        key: `${env}/${rel}`,
        rows,
        bytes,
        sha256,
        rejected,
        durationMs: performance.now() - started,
      };
    } finally {
      await tmp.cleanup();
    }
  }

  /** A local path DuckDB can read: the file itself, or an object URL (s3://…) downloaded into `dir`. */
  private async stageInput(filePath: string, dir: string): Promise<string> {
    if (!isUrl(filePath)) {
      if (!existsSync(filePath))
        throw new NotFoundError(`CSV file ${filePath} does not exist`, { context: { file: filePath } });
      return filePath;
    }
    const { storage, key } = openObjectUrl(
      filePath,
      this.options.storageOptions ?? storageOptionsFrom(this.config),
    );
    const target = path.join(dir, 'input.csv');
    await downloadVerified(storage, key, target);
    return target;
  }

  private async convert(
    conn: DuckDBConnection,
    file: string,
    out: string,
    schema: ColumnSchema | undefined,
    rejectFile: string | undefined,
    display: string,
    dialect: string,
  ): Promise<{ rows: number; rejected: number; columns: ColumnRecord[] }> {
    const readCsv = (extra: string) =>
      schema
        ? `read_csv(${quoteLiteral(file)}, ${dialect}, auto_detect=false, columns=${duckdbColumnsLiteral(schema)}${extra ? `, ${extra}` : ''})`
        : `read_csv(${quoteLiteral(file)}, ${dialect}${extra ? `, ${extra}` : ''})`;
    const copy = (extra: string) =>
      `COPY (SELECT * FROM ${readCsv(extra)}) TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION zstd)`;
    let rows: number;
    let rejected = 0;
    if (rejectFile) {
      await conn.run('DROP TABLE IF EXISTS _rej_errors; DROP TABLE IF EXISTS _rej_scans');
      const res = await conn.runAndReadAll(
        copy(`store_rejects=true, rejects_table='_rej_errors', rejects_scan='_rej_scans'`),
      );
      rows = Number((res.getRowObjectsJS()[0] as { Count: bigint }).Count);
      const n = await conn.runAndReadAll('SELECT count(DISTINCT line) AS n FROM _rej_errors');
      rejected = Number((n.getRowObjectsJS()[0] as { n: bigint }).n);
      await fsp.mkdir(path.dirname(path.resolve(rejectFile)), { recursive: true });
      await conn.run(rejectCopySql('_rej_errors', `${rejectFile}.sluice-part`));
      await fsp.rename(`${rejectFile}.sluice-part`, rejectFile);
      await conn.run('DROP TABLE IF EXISTS _rej_errors; DROP TABLE IF EXISTS _rej_scans');
    } else {
      try {
        const res = await conn.runAndReadAll(copy(''));
        rows = Number((res.getRowObjectsJS()[0] as { Count: bigint }).Count);
      } catch (error) {
        // A full disk is not the file's fault: E012 naming where, never E003 about the CSV.
        const wrapped = wrapDuckDBError(error, { file: display });
        if (wrapped.code === 'E012') throw wrapped;
        const { rejects, total } = await collectRejects(conn, readCsv).catch(() => ({
          rejects: [],
          total: 0,
        }));
        if (total > 0) throw rejectsError(display, rejects, total, error);
        throw new SchemaValidationError(`${display}: ${(error as Error).message.split('\n')[0]}`, {
          cause: error,
          context: { file: display },
        });
      }
    }
    const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(out)})`);
    const columns = (desc.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((c) => ({
      name: c.column_name,
      type: c.column_type,
    }));
    return { rows, rejected, columns };
  }

  /**
   * Checks a CSV file against a schema without writing anything: header names and order, then
   * every row's column count, types and UTF-8. True, or SchemaValidationError (E003) naming
   * file, row, column and value. (The seed validated a DataFrame; here the file is the input.)
   */
  async validateSchema(filePath: string, schema: ColumnSchema): Promise<true> {
    parseSchema(schema, `schema for ${filePath}`);
    await checkHeader(filePath, schema);
    const { longestRecord: longest } = await validateCsvFile(filePath, { uniqueIgnoringCase: true });
    const engine = await this.getEngine();
    await engine.withConnection(async (conn) => {
      const readCsv = (extra: string) =>
        `read_csv(${quoteLiteral(filePath)}, ${strictReadCsvOptions(longest)}, auto_detect=false, columns=${duckdbColumnsLiteral(schema)}${extra ? `, ${extra}` : ''})`;
      const { rejects, total } = await collectRejects(conn, readCsv);
      if (total > 0) throw rejectsError(filePath, rejects, total);
    });
    return true;
  }

  /** Every `<dataDir>/raw/<source>/**\/*.csv`, with its source and name (no two share a target). */
  async discover(
    rawDir = path.join(this.config.dataDir, 'raw'),
  ): Promise<{ file: string; source: string; name: string }[]> {
    if (!existsSync(rawDir)) return [];
    const entries = await fsp.readdir(rawDir, { recursive: true, withFileTypes: true });
    const out: { file: string; source: string; name: string }[] = [];
    for (const e of entries) {
      if (!e.isFile() || !/\.csv$/i.test(e.name)) continue;
      const file = path.join(e.parentPath, e.name);
      const parts = path.relative(rawDir, file).split(path.sep);
      const source = parts.length > 1 ? (parts[0] as string) : ROOT_SOURCE;
      const name = (parts.length > 1 ? parts.slice(1) : parts).join('/').replace(/\.csv$/i, '');
      out.push({ file, source, name });
    }
    return out.sort((a, b) => (a.file < b.file ? -1 : 1));
  }

  /** The schema for a source: options.schemas, else `raw/<source>/schema.yaml|yml|json`, else sniffed. */
  schemaFor(source: string, rawDir = path.join(this.config.dataDir, 'raw')): ColumnSchema | undefined {
    const given = this.options.schemas?.[source];
    if (given) return given;
    const dir = source === ROOT_SOURCE ? rawDir : path.join(rawDir, source);
    for (const f of ['schema.yaml', 'schema.yml', 'schema.json']) {
      const p = path.join(dir, f);
      if (existsSync(p)) return loadSchemaFile(p);
    }
    return undefined;
  }

  /** Ingests every raw CSV; one outcome per file, failures included (nothing stops the others). */
  async ingestAll(
    options: { env?: Environment; onProgress?: ProgressFn; signal?: AbortSignal } = {},
  ): Promise<IngestFileOutcome[]> {
    const files = await this.discover();
    const outcomes: IngestFileOutcome[] = [];
    let done = 0;
    options.onProgress?.({ operation: 'ingest', done, total: files.length, unit: 'files' });
    for (const f of files) {
      options.signal?.throwIfAborted();
      try {
        // Transient storage faults (network, throttling) are retried; bad data is not.
        const result = await retry(
          () =>
            this.ingestCsv(f.file, f.source, this.schemaFor(f.source), {
              name: f.name,
              ...(options.env ? { env: options.env } : {}),
              ...(options.onProgress ? { onProgress: options.onProgress } : {}),
            }),
          {
            maxAttempts: 3,
            delayMs: this.options.retryDelayMs ?? 500,
            ...(options.signal ? { signal: options.signal } : {}),
          },
        );
        outcomes.push({ ...f, ok: true, result });
      } catch (error) {
        outcomes.push({ ...f, ok: false, error: toSluiceError(error, 'E030') });
      }
      done += 1;
      options.onProgress?.({ operation: 'ingest', done, total: files.length, unit: 'files' });
    }
    return outcomes;
  }

  /** The seed's form: success per source (false when any of its files failed). */
  async ingestAllSources(): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    for (const o of await this.ingestAll()) out[o.source] = (out[o.source] ?? true) && o.ok;
    return out;
  }

  async close(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    if (engine) await (await engine).close();
  }
}
