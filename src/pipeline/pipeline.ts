/**
 * The seed's Pipeline: `run(mode)` for full | ingest | transform | upload, with a persisted record
 * of every run (per-step duration, rows, bytes, errors) that `getStatus()` reads back.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { ConfigurationError, ERROR_CODES, toSluiceError, ValidationError } from '../errors.ts';
import { openStorage } from '../storage/open.ts';
import { syncStorages } from '../sync/sync.ts';
import type { ProgressFn } from '../util/progress.ts';
import { stampedId } from '../util/timestamps.ts';
import { ErrorHandler } from './error-handler.ts';
import { DataIngester } from './ingester.ts';
import { Lake } from './lake.ts';
import { exportOpenLineage, LakeLineage, type OutputBatch } from './lineage.ts';
import { modelSyntaxProblems } from './model-check.ts';
import { loadModels, orderModels } from './models.ts';
import { type PipelineOptions, storageOptionsFrom } from './options.ts';
import { listRuns, type RunRecord, runKey, type StepRecord, saveRun } from './run-history.ts';
import { Transformer } from './transformer.ts';

export const PIPELINE_MODES = ['full', 'ingest', 'transform', 'upload'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

export interface RunOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
  /** What started the run (`schedule nightly`), kept in its record. @default none: started by hand */
  trigger?: string;
}

export interface PipelineStatus {
  env: string;
  lakeRoot: string;
  lastRun: RunRecord | null;
  runs: RunRecord[];
}

export class Pipeline {
  readonly config: Config;
  readonly lake: Lake;
  readonly errorHandler: ErrorHandler;
  private readonly options: PipelineOptions;
  private readonly lineage: LakeLineage;

  constructor(config: Config, options: PipelineOptions = {}) {
    this.config = config;
    const lake =
      options.lake ?? openStorage(config.lakeRoot, options.storageOptions ?? storageOptionsFrom(config));
    // One log for the whole run: each step's records go out with the next step's intents.
    const lineage = LakeLineage.open(lake, config.lineage, options.lineage);
    this.lineage = lineage;
    this.options = { ...options, lake, lineage: lineage.log ?? false };
    this.lake = new Lake(lake);
    this.errorHandler = new ErrorHandler({ retry: { maxAttempts: 3, delayMs: options.retryDelayMs ?? 500 } });
  }

  /** True when the run succeeded; the detailed record is in getStatus() (and runDetailed()). */
  async run(mode: string = 'full', options: RunOptions = {}): Promise<boolean> {
    return (await this.runDetailed(mode, options)).success;
  }

  async runDetailed(mode: string = 'full', options: RunOptions = {}): Promise<RunRecord> {
    if (!(PIPELINE_MODES as readonly string[]).includes(mode)) {
      throw new ValidationError(
        `Unknown pipeline mode ${JSON.stringify(mode)}; use one of ${PIPELINE_MODES.join(', ')}`,
        {
          context: { mode },
        },
      );
    }
    const started = new Date();
    const record: RunRecord = {
      id: stampedId(started),
      mode,
      env: this.config.env,
      username: this.config.username ?? null,
      startedAt: started.toISOString(),
      finishedAt: '',
      durationMs: 0,
      success: true,
      ...(options.trigger ? { trigger: options.trigger } : {}),
      steps: [],
    };
    // The run record's intent goes out now, beside the first step's work, not after the last.
    const runIntent = this.declareRunRecord(record.id);
    const steps: StepRecord['step'][] =
      mode === 'full' ? ['ingest', 'transform', 'upload'] : [mode as StepRecord['step']];
    for (const step of steps) {
      if (!record.success) {
        record.steps.push(emptyStep(step, 'skipped', 'an earlier step failed'));
        continue;
      }
      const t0 = performance.now();
      let s: StepRecord | undefined;
      try {
        s = await this.runStep(step, mode, record.id, options);
      } catch (error) {
        // Every step is idempotent (ingest republishes, models rerun, sync resumes): a transient
        // failure reruns the step; anything else is recorded.
        const recovered = await this.errorHandler.handleError(error, {
          operation: step,
          retry: async () => {
            s = await this.runStep(step, mode, record.id, options);
          },
        });
        if (!recovered) {
          const e = toSluiceError(error);
          s = { ...emptyStep(step, 'failed'), errors: [e.toString()] };
          record.error ??= { code: e.code, message: e.message };
        }
      }
      const done = s as StepRecord;
      done.durationMs = performance.now() - t0;
      record.steps.push(done);
      if (done.status === 'failed') {
        record.success = false;
        const first = done.errors[0] ?? `${step} failed`;
        const code = /\b(E\d{3}):/.exec(first)?.[1];
        record.error ??= {
          code: code && code in ERROR_CODES ? code : 'E099',
          message: first.replace(/^E\d{3}: /, ''),
        };
      }
    }
    const finished = new Date();
    record.finishedAt = finished.toISOString();
    record.durationMs = finished.getTime() - started.getTime();
    await this.saveRunRecord(record, runIntent);
    return record;
  }

  private declareRunRecord(id: string): Promise<OutputBatch> {
    const key = this.lake.internalKey(this.config.env, runKey(id));
    const declared = this.lineage.withRun(id).begin([{ key, operation: 'pipeline.run', inputs: [] }]);
    declared.catch(() => {}); // awaited when the record is written; a failed put is tried again then
    return declared;
  }

  /** The run's record in the history, under its lineage record; then every record of the run is durable. */
  private async saveRunRecord(record: RunRecord, declared: Promise<OutputBatch>): Promise<void> {
    const lineage = this.lineage.withRun(record.id);
    const batch = await declared.catch(() => this.declareRunRecord(record.id));
    try {
      batch.at(0).commit(await saveRun(this.lake.internal(this.config.env), record));
    } catch (error) {
      batch.abortOpen(error);
      await lineage.flushQuietly();
      throw error;
    }
    await lineage.flush();
    await exportOpenLineage(this.config.openLineage, lineage, record.id, 'pipeline.run');
  }

  private async runStep(
    step: StepRecord['step'],
    mode: string,
    run: string,
    options: RunOptions,
  ): Promise<StepRecord> {
    if (step === 'ingest') {
      const ingester = new DataIngester(this.config, this.options);
      try {
        const outcomes = await ingester.ingestAll({ env: this.config.env, run, ...options });
        const ok = outcomes.filter((o) => o.ok);
        const errors = outcomes
          .filter((o) => !o.ok)
          .map((o) => {
            const text = o.error?.toString() ?? 'failed';
            return text.includes(o.file) ? text : `${o.file}: ${text}`;
          });
        return {
          ...emptyStep('ingest', errors.length ? 'failed' : 'ok'),
          files: ok.length,
          rows: ok.reduce((s, o) => s + (o.result?.rows ?? 0), 0),
          bytes: ok.reduce((s, o) => s + (o.result?.bytes ?? 0), 0),
          errors,
          ...(outcomes.length === 0
            ? { note: `no CSV files under ${path.join(this.config.dataDir, 'raw')}` }
            : {}),
        };
      } finally {
        await ingester.close();
      }
    }
    if (step === 'transform') {
      const outcomes = await new Transformer(this.config, this.options).runAll({
        env: this.config.env,
        run,
        ...options,
      });
      const ok = outcomes.filter((o) => o.status === 'ok');
      const errors = outcomes
        .filter((o) => o.status !== 'ok')
        .map((o) =>
          o.status === 'failed'
            ? `E004: model ${o.model}: ${o.error}`
            : `model ${o.model} skipped (upstream ${o.because} failed)`,
        );
      // Rows of the final models only: a model that another reads would count its rows twice.
      const finals = ok.filter((o) => o.final);
      const note =
        finals.length < ok.length && finals.length > 0
          ? `rows of the final model${finals.length > 1 ? 's' : ''}: ${finals.map((o) => o.model).join(', ')}`
          : undefined;
      return {
        ...emptyStep('transform', errors.length ? 'failed' : 'ok', note),
        files: ok.length,
        rows: finals.reduce((s, o) => s + (o.rows ?? 0), 0),
        bytes: ok.reduce((s, o) => s + (o.bytes ?? 0), 0),
        errors,
      };
    }
    const target =
      this.options.uploadUrl ?? (this.config.s3Bucket ? `s3://${this.config.s3Bucket}/` : undefined);
    if (!target) {
      if (mode === 'upload') {
        throw new ConfigurationError(
          'Nothing to upload to: set s3Bucket (S3_BUCKET) or PipelineOptions.uploadUrl',
        );
      }
      return emptyStep('upload', 'skipped', 'no upload target (s3Bucket) configured');
    }
    const env = this.config.env;
    const dst = openStorage(target, this.options.storageOptions ?? storageOptionsFrom(this.config)).scope(
      `${env}/`,
    );
    const result = await syncStorages(this.lake.env(env), dst, {
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { ...emptyStep('upload', 'ok'), files: result.uploaded.length, bytes: result.bytes };
  }

  /** Every problem with config, directories, models and the lake (empty when all is well). */
  async environmentProblems(): Promise<string[]> {
    const problems = [...this.config.problems()];
    const raw = path.join(this.config.dataDir, 'raw');
    if (existsSync(this.config.dataDir) && !existsSync(raw))
      problems.push(`dataDir: no raw/ folder in ${this.config.dataDir}`);
    if (existsSync(this.config.modelsDir)) {
      try {
        const models = orderModels(await loadModels(this.config.modelsDir));
        problems.push(...(await modelSyntaxProblems(models)));
      } catch (error) {
        problems.push(`models: ${toSluiceError(error).message}`);
      }
    }
    try {
      for await (const _ of this.lake.storage.list({ prefix: `${this.config.env}/`, recursive: false }))
        break;
    } catch (error) {
      problems.push(`lakeRoot: cannot list ${this.lake.storage.url}: ${toSluiceError(error).message}`);
    }
    return problems;
  }

  /** The seed's check: true when config, directories, models and lake are usable. */
  async validateEnvironment(): Promise<boolean> {
    return (await this.environmentProblems()).length === 0;
  }

  async getStatus(limit = this.options.historyLimit ?? 20): Promise<PipelineStatus> {
    await this.lake.ready(this.config.env);
    const runs = await listRuns(this.lake.internal(this.config.env), limit, undefined, async (keys) => {
      // Old records are trimmed: recorded as deleted before they go.
      this.lineage.deleting(
        keys.map((k) => this.lake.internalKey(this.config.env, k)),
        'pipeline.history',
      );
      await this.lineage.flush();
    });
    return { env: this.config.env, lakeRoot: this.lake.storage.url, lastRun: runs[0] ?? null, runs };
  }
}

function emptyStep(step: StepRecord['step'], status: StepRecord['status'], note?: string): StepRecord {
  return { step, status, durationMs: 0, rows: 0, bytes: 0, files: 0, errors: [], ...(note ? { note } : {}) };
}
