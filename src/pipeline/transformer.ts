import type { Config } from '../config/config.ts';
import type { Environment } from '../config/schema.ts';
import { type DuckDBConnection, Engine, quoteIdent, quoteLiteral } from '../engine/duckdb.ts';
import { TransformationError } from '../errors.ts';
import { type LineageInput, outputUrl } from '../lineage/index.ts';
import { openStorage } from '../storage/open.ts';
import type { ProgressFn } from '../util/progress.ts';
import { Lake, makeTempDir } from './lake.ts';
import { LakeLineage } from './lineage.ts';
import { type BuiltModel, buildModel, publishModels } from './model-publish.ts';
import { downstreamOf, loadModels, type ModelDef, orderModels } from './models.ts';
import { type PipelineOptions, storageOptionsFrom } from './options.ts';

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
  /** The pipeline run the lineage records belong to. */
  run?: string;
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
    const lineage = LakeLineage.open(this.lake.storage, this.config.lineage, this.options.lineage).withRun(
      options.run,
    );
    const engine = await Engine.create(this.options.threads ? { threads: this.options.threads } : {});
    const tmp = await makeTempDir('transform');
    const outcomes: Omit<ModelOutcome, 'final'>[] = [];
    try {
      const built = new Map<string, BuiltModel>();
      let sources = new Map<string, LineageInput[]>();
      await engine.withConnection(async (conn) => {
        await conn.run('CREATE SCHEMA landing; CREATE SCHEMA staging');
        sources = await this.createSourceViews(conn, env, models, tmp.dir, lineage.enabled);
        outcomes.push(...(await this.buildAll(conn, models, tmp.dir, built, options)));
      });
      // Every model is built (models read each other's temp files); now the outputs are declared
      // in one batch of intents and published.
      await publishModels({ lake: this.lake, env, lineage, models, built, sources, outcomes });
    } catch (error) {
      await lineage.flushQuietly();
      throw error;
    } finally {
      await engine.close();
      await tmp.cleanup();
    }
    await lineage.endStep();
    return outcomes.map((o) => ({ ...o, final: final(o.model) }));
  }

  /** Builds each model into a temp Parquet file, in order; a failure skips what is downstream. */
  private async buildAll(
    conn: DuckDBConnection,
    models: ModelDef[],
    tmpDir: string,
    built: Map<string, BuiltModel>,
    options: TransformRunOptions,
  ): Promise<Omit<ModelOutcome, 'final'>[]> {
    const outcomes: Omit<ModelOutcome, 'final'>[] = [];
    const blocked = new Map<string, string>();
    let done = 0;
    const total = models.length;
    options.onProgress?.({ operation: 'transform', done, total, unit: 'steps' });
    for (const model of models) {
      options.signal?.throwIfAborted();
      const cause = blocked.get(model.name);
      if (cause) outcomes.push({ model: model.name, status: 'skipped', durationMs: 0, because: cause });
      else {
        options.onProgress?.({ operation: 'transform', done, total, unit: 'steps', detail: model.name });
        const started = performance.now();
        try {
          built.set(model.name, await buildModel(conn, model, tmpDir));
          outcomes.push({ model: model.name, status: 'ok', durationMs: performance.now() - started });
        } catch (error) {
          const message = ((error as Error).message ?? String(error)).split('\n')[0] ?? '';
          outcomes.push({
            model: model.name,
            status: 'failed',
            durationMs: performance.now() - started,
            error: `${message} (in ${model.file})`,
          });
          for (const d of downstreamOf(model.name, models)) blocked.set(d, model.name);
        }
      }
      done += 1;
      options.onProgress?.({ operation: 'transform', done, total, unit: 'steps' });
    }
    return outcomes;
  }

  /**
   * `landing.<source>` = every Parquet file of that source, staged locally when the lake is
   * remote. Returns each source's files as lineage inputs (sha256 from the manifest or the
   * object's metadata, not read again) when `hashes` is asked.
   */
  private async createSourceViews(
    conn: DuckDBConnection,
    env: Environment,
    models: ModelDef[],
    tmpDir: string,
    hashes: boolean,
  ): Promise<Map<string, LineageInput[]>> {
    const wanted = new Set(models.flatMap((m) => m.sources));
    const snap = await this.lake.snapshot(env);
    const bySource = new Map<string, string[]>();
    const inputs = new Map<string, LineageInput[]>();
    for (const f of snap.files) {
      const m = /^landing\/([^/]+)\/.+\.parquet$/.exec(f.path);
      if (!m?.[1] || !wanted.has(m[1])) continue;
      const local = await this.lake.localFile(this.lake.storage, f.key, tmpDir);
      bySource.set(m[1], [...(bySource.get(m[1]) ?? []), local]);
      if (hashes) {
        const sha256 = f.sha256 ?? (await this.lake.sha256Of(this.lake.storage, f.key));
        const input: LineageInput = {
          kind: 'file',
          url: outputUrl(this.lake.storage, f.key),
          sha256,
          size: f.size,
        };
        inputs.set(m[1], [...(inputs.get(m[1]) ?? []), input]);
      }
    }
    for (const [source, files] of bySource) {
      await conn.run(
        `CREATE VIEW landing.${quoteIdent(source)} AS SELECT * FROM read_parquet([${files.map(quoteLiteral).join(', ')}], union_by_name=true)`,
      );
    }
    return inputs;
  }
}
