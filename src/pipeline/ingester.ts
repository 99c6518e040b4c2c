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
import { Engine, quoteLiteral } from '../engine/duckdb.ts';
import { withQueryProgress } from '../engine/query-progress.ts';
import { type SluiceError, toSluiceError } from '../errors.ts';
import {
  checkCsvForDuckdb,
  fullCheck,
  isLineTooLong,
  longestCsvRecord,
  readCsvHeader,
  strictReadCsvOptions,
  validateCsvFile,
} from '../formats/csv-duckdb.ts';
import { lineageUrl } from '../lineage/index.ts';
import { assertValidKey } from '../storage/keys.ts';
import { openStorage } from '../storage/open.ts';
import type { ProgressFn } from '../util/progress.ts';
import { retry } from '../util/retry.ts';
import { checkHeader, collectRejects, rejectsError } from './csv-check.ts';
import { convertCsv } from './csv-convert.ts';
import { Lake, makeTempDir } from './lake.ts';
import { LakeLineage, type OutputBatch, type PlannedOutput } from './lineage.ts';
import { recordKey, writeLoadRecord } from './load-records.ts';
import { type PipelineOptions, storageOptionsFrom } from './options.ts';
import { publishParquet } from './publish-parquet.ts';
import { type ColumnSchema, duckdbColumnsLiteral, loadSchemaFile, parseSchema } from './schema.ts';
import { isUrl, stageCsvInput } from './stage-input.ts';

export interface IngestCsvOptions {
  /** Write bad rows here (CSV) and load the good ones, instead of failing with E003. */
  rejectFile?: string;
  /** File name inside the source (without .parquet). @default the CSV's base name */
  name?: string;
  /** @default config.env */
  env?: Environment;
  signal?: AbortSignal;
  /**
   * Bytes of the CSV converted so far (DuckDB's estimate, a few times a second): `ingest`, detail
   * `<source>/<name>`; before that, for a CSV in object storage, bytes downloaded: `download`.
   */
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

  /** The lake's lineage for one ingest (config `lineage`, or the log a pipeline run shares). */
  private lineageFor(run?: string): LakeLineage {
    return LakeLineage.open(this.lake.storage, this.config.lineage, this.options.lineage).withRun(run);
  }

  /** Converts one CSV to `<env>/landing/<source>/<name>.parquet`, published atomically with a load record. */
  async ingestCsv(
    filePath: string,
    source: string,
    schema?: ColumnSchema,
    options: IngestCsvOptions = {},
  ): Promise<IngestResult> {
    const lineage = this.lineageFor();
    let result: IngestResult;
    try {
      result = await this.ingestOne(filePath, source, schema, options, lineage);
    } catch (error) {
      await lineage.flushQuietly();
      throw error;
    }
    await lineage.flush();
    return result;
  }

  /** ingestCsv without the final flush: a step of many files flushes once at its end. */
  private async ingestOne(
    filePath: string,
    source: string,
    schema: ColumnSchema | undefined,
    options: IngestCsvOptions,
    lineage: LakeLineage,
  ): Promise<IngestResult> {
    const started = performance.now();
    const env = options.env ?? this.config.env;
    const name = options.name ?? path.basename(filePath).replace(/\.csv$/i, '');
    const rel = `landing/${source}/${name}.parquet`;
    assertValidKey(rel);
    const tmp = await makeTempDir('ingest');
    try {
      const { local, read } = await stageCsvInput(filePath, tmp.dir, {
        hash: lineage.enabled,
        storageOptions: this.options.storageOptions ?? storageOptionsFrom(this.config),
        onProgress: options.onProgress,
        detail: `${source}/${name}`,
      });
      // The header is read strictly first (E021 for an empty or duplicate name), then checked
      // against the schema (E003).
      await readCsvHeader(local, { source: filePath, uniqueIgnoringCase: true });
      if (schema) {
        parseSchema(schema, `schema for ${filePath}`);
        await checkHeader(local, schema, filePath);
      }
      // The intents go out while DuckDB converts (the CSV's hash is ready long before the Parquet
      // file): durable before the landing file becomes visible, yet off the ingest's path.
      const outputs = (csv?: { sha256: string; size: number }): PlannedOutput[] => [
        {
          key: `${env}/${rel}`,
          operation: 'pipeline.ingest',
          inputs: csv ? [{ kind: 'file', url: lineageUrl(filePath), ...csv }] : [],
        },
        { key: this.lake.internalKey(env, recordKey(rel)), operation: 'pipeline.ingest', inputs: [] },
      ];
      const declared = read ? read.then((csv) => lineage.begin(outputs(csv))) : lineage.begin(outputs());
      declared.catch(() => {}); // awaited below, on success and on failure
      let batch: OutputBatch | undefined;
      let published: { bytes: number; sha256: string };
      let converted: Awaited<ReturnType<typeof convertCsv>>;
      try {
        converted = await this.convert(local, tmp.dir, filePath, schema, options, `${source}/${name}`);
        options.signal?.throwIfAborted();
        batch = await declared;
        published = await publishParquet(
          this.lake.env(env),
          rel,
          path.join(tmp.dir, 'out.parquet'),
          converted.rows,
        );
        batch.at(0).commit({
          sha256: published.sha256,
          size: published.bytes,
          rows: converted.rows,
          fields: converted.columns,
        });
        const record = await writeLoadRecord(this.lake.internal(env), {
          path: rel,
          source,
          name,
          file: isUrl(filePath) ? filePath : path.resolve(filePath),
          rows: converted.rows,
          bytes: published.bytes,
          sha256: published.sha256,
          rejected: converted.rejected,
          columns: converted.columns,
          schema: schema ?? null,
          loadedAt: new Date().toISOString(),
        });
        batch.at(1).commit(record);
      } catch (error) {
        (batch ?? (await declared.catch(() => undefined)))?.abortOpen(error);
        throw error;
      }
      const { rows, rejected } = converted;
      return {
        file: filePath,
        source,
        name,
        key: `${env}/${rel}`,
        rows,
        bytes: published.bytes,
        sha256: published.sha256,
        rejected,
        durationMs: performance.now() - started,
      };
    } finally {
      await tmp.cleanup();
    }
  }

  /**
   * The CSV → `<dir>/out.parquet` conversion. DuckDB misreads some broken files without a word (a
   * stray quote becomes data), so sluice checks the same file while DuckDB converts it, and its
   * verdict comes first.
   */
  private async convert(
    local: string,
    dir: string,
    filePath: string,
    schema: ColumnSchema | undefined,
    options: IngestCsvOptions,
    detail: string,
  ): Promise<Awaited<ReturnType<typeof convertCsv>>> {
    const out = path.join(dir, 'out.parquet');
    const engine = await this.getEngine();
    const ragged = options.rejectFile !== undefined;
    const onFraction = await conversionProgress(local, detail, options.onProgress);
    const check = checkCsvForDuckdb(local, { source: filePath, allowRagged: ragged });
    const convert = (longest?: number) =>
      engine.withConnection((conn) =>
        withQueryProgress(conn, onFraction, () =>
          convertCsv(conn, local, out, schema, options.rejectFile, filePath, strictReadCsvOptions(longest)),
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
    return converted.value;
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
    options: {
      env?: Environment;
      onProgress?: ProgressFn;
      signal?: AbortSignal;
      /** The pipeline run the lineage records belong to. */
      run?: string;
    } = {},
  ): Promise<IngestFileOutcome[]> {
    const files = await this.discover();
    const lineage = this.lineageFor(options.run);
    let outcomes: IngestFileOutcome[];
    try {
      outcomes = await this.ingestFiles(files, options, lineage);
    } catch (error) {
      await lineage.flushQuietly();
      throw error;
    }
    await lineage.endStep(); // the step's commits and aborts
    return outcomes;
  }

  private async ingestFiles(
    files: { file: string; source: string; name: string }[],
    options: { env?: Environment; onProgress?: ProgressFn; signal?: AbortSignal },
    lineage: LakeLineage,
  ): Promise<IngestFileOutcome[]> {
    const outcomes: IngestFileOutcome[] = [];
    let done = 0;
    options.onProgress?.({ operation: 'ingest', done, total: files.length, unit: 'files' });
    for (const f of files) {
      options.signal?.throwIfAborted();
      try {
        // Transient storage faults (network, throttling) are retried; bad data is not.
        const result = await retry(
          () =>
            this.ingestOne(
              f.file,
              f.source,
              this.schemaFor(f.source),
              {
                name: f.name,
                ...(options.env ? { env: options.env } : {}),
                ...(options.onProgress ? { onProgress: options.onProgress } : {}),
              },
              lineage,
            ),
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
