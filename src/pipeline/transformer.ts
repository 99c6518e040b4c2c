import path from 'node:path';
import type { Config } from '../config/config.ts';
import type { Environment } from '../config/schema.ts';
import { type DuckDBConnection, Engine, quoteIdent, quoteLiteral } from '../engine/duckdb.ts';
import { TransformationError } from '../errors.ts';
import { openStorage } from '../storage/open.ts';
import type { ProgressFn } from '../util/progress.ts';
import { Lake, makeTempDir } from './lake.ts';
import { writeLoadRecord } from './load-records.ts';
import { downstreamOf, loadModels, type ModelDef, orderModels } from './models.ts';
import { type PipelineOptions, storageOptionsFrom } from './options.ts';
import { publishParquet } from './publish-parquet.ts';

export interface ModelOutcome {
  model: string;
  status: 'ok' | 'failed' | 'skipped';
  rows?: number;
  bytes?: number;
  durationMs: number;
  error?: string;
  /** For skipped models: the failed model upstream. */
  because?: string;
  /** No other model of the run reads this one: its rows are part of the step's row total. */
  final: boolean;
}

export interface TransformRunOptions {
  env?: Environment;
  /** @default config.modelsDir */
  modelsDir?: string;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export class Transformer {
  readonly config: Config;
  readonly lake: Lake;
  private readonly options: PipelineOptions;

  constructor(config: Config, options: PipelineOptions = {}) {
    this.config = config;
    this.options = options;
    this.lake = new Lake(
      options.lake ?? openStorage(config.lakeRoot, options.storageOptions ?? storageOptionsFrom(config)),
    );
  }

  /** Runs every model; throws TransformationError (E004) after the run if any model failed. */
  async run(options: TransformRunOptions = {}): Promise<ModelOutcome[]> {
    const outcomes = await this.runAll(options);
    const failed = outcomes.filter((o) => o.status === 'failed');
    if (failed.length > 0) {
      const first = failed[0] as ModelOutcome;
      const skipped = outcomes.filter((o) => o.status === 'skipped').map((o) => o.model);
      throw new TransformationError(
        `Model ${first.model} failed: ${first.error}${skipped.length ? `; skipped downstream: ${skipped.join(', ')}` : ''}`,
        { context: { model: first.model, failed: failed.map((f) => f.model), skipped, outcomes } },
      );
    }
    return outcomes;
  }

  /** Runs every model and reports each outcome without throwing for model failures. */
  async runAll(options: TransformRunOptions = {}): Promise<ModelOutcome[]> {
    const env = options.env ?? this.config.env;
    const models = orderModels(await loadModels(options.modelsDir ?? this.config.modelsDir));
    const read = new Set(models.flatMap((m) => m.dependsOn));
    const final = (name: string) => !read.has(name);
    const store = this.lake.env(env);
    const engine = await Engine.create(this.options.threads ? { threads: this.options.threads } : {});
    const tmp = await makeTempDir('transform');
    const outcomes: ModelOutcome[] = [];
    const blocked = new Map<string, string>();
    try {
      await engine.withConnection(async (conn) => {
        await conn.run('CREATE SCHEMA landing; CREATE SCHEMA staging');
        await this.createSourceViews(conn, env, models, tmp.dir);
        let done = 0;
        options.onProgress?.({ operation: 'transform', done, total: models.length, unit: 'steps' });
        for (const model of models) {
          options.signal?.throwIfAborted();
          const cause = blocked.get(model.name);
          if (cause)
            outcomes.push({
              model: model.name,
              status: 'skipped',
              durationMs: 0,
              because: cause,
              final: final(model.name),
            });
          else {
            options.onProgress?.({
              operation: 'transform',
              done,
              total: models.length,
              unit: 'steps',
              detail: model.name,
            });
            const outcome = await this.runModel(conn, store, this.lake.internal(env), model, tmp.dir);
            outcomes.push({ ...outcome, final: final(model.name) });
            if (outcome.status === 'failed')
              for (const d of downstreamOf(model.name, models)) blocked.set(d, model.name);
          }
          done += 1;
          options.onProgress?.({ operation: 'transform', done, total: models.length, unit: 'steps' });
        }
      });
    } finally {
      await engine.close();
      await tmp.cleanup();
    }
    return outcomes;
  }

  /** `landing.<source>` = every Parquet file of that source, staged locally when the lake is remote. */
  private async createSourceViews(
    conn: DuckDBConnection,
    env: Environment,
    models: ModelDef[],
    tmpDir: string,
  ): Promise<void> {
    const wanted = new Set(models.flatMap((m) => m.sources));
    const snap = await this.lake.snapshot(env);
    const bySource = new Map<string, string[]>();
    for (const f of snap.files) {
      const m = /^landing\/([^/]+)\/.+\.parquet$/.exec(f.path);
      if (!m?.[1] || !wanted.has(m[1])) continue;
      const local = await this.lake.localFile(this.lake.storage, f.key, tmpDir);
      bySource.set(m[1], [...(bySource.get(m[1]) ?? []), local]);
    }
    for (const [source, files] of bySource) {
      await conn.run(
        `CREATE VIEW landing.${quoteIdent(source)} AS SELECT * FROM read_parquet([${files.map(quoteLiteral).join(', ')}], union_by_name=true)`,
      );
    }
  }

  private async runModel(
    conn: DuckDBConnection,
    store: ReturnType<Lake['env']>,
    records: ReturnType<Lake['internal']>,
    model: ModelDef,
    tmpDir: string,
  ): Promise<Omit<ModelOutcome, 'final'>> {
    const started = performance.now();
    const out = path.join(tmpDir, `${model.name}.parquet`);
    const rel = `staging/${model.name}.parquet`;
    try {
      const res = await conn.runAndReadAll(
        `COPY (\n${model.sql}\n) TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const rows = Number((res.getRowObjectsJS()[0] as { Count: bigint }).Count);
      await conn.run(
        `CREATE VIEW staging.${quoteIdent(model.name)} AS SELECT * FROM read_parquet(${quoteLiteral(out)})`,
      );
      const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(out)})`);
      const columns = (desc.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((c) => ({
        name: c.column_name,
        type: c.column_type,
      }));
      const { bytes, sha256 } = await publishParquet(store, rel, out, rows);
      await writeLoadRecord(records, {
        path: rel,
        name: model.name,
        file: model.file,
        rows,
        bytes,
        sha256,
        columns,
        description: model.description,
        dependsOn: model.dependsOn,
        loadedAt: new Date().toISOString(),
      });
      return { model: model.name, status: 'ok', rows, bytes, durationMs: performance.now() - started };
    } catch (error) {
      const message = ((error as Error).message ?? String(error)).split('\n')[0] ?? '';
      return {
        model: model.name,
        status: 'failed',
        durationMs: performance.now() - started,
        error: `${message} (in ${model.file})`,
      };
    }
  }
}
