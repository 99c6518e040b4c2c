/**
 * What the dashboard shows of the lake, through the pipeline module's public classes: the
 * environments and their datasets (DataCatalog), a dataset's schema and first rows, run history
 * (Pipeline.getStatus), promotion history and backups (the records DataPromoter keeps in the
 * lake's reserved folder) and rollback. The same calls work on a local lake and on S3.
 * Rollbacks of one environment run one at a time: two clicks must not interleave two publishes.
 */
import type { Config } from '../../config/config.ts';
import { ENVIRONMENTS, type Environment } from '../../config/schema.ts';
import { NotFoundError } from '../../errors.ts';
import {
  DataCatalog,
  DataPromoter,
  type DatasetInfo,
  type EnvManifest,
  Pipeline,
  type PromotionResult,
  type RunRecord,
  storageOptionsFrom,
} from '../../pipeline/index.ts';
import { maskSecretsInString } from '../../secrets/mask.ts';
import type { OpenStorageOptions } from '../../storage/open.ts';
import { openStorage } from '../../storage/open.ts';
import type { Storage } from '../../storage/types.ts';
import { HttpProblem } from '../http/problem.ts';
import { type Preview, previewDataset } from './preview.ts';

/** Promotion records and backups a history answer reads, newest first. */
export const HISTORY_LIMIT = 50;

export interface EnvSummary {
  env: Environment;
  /** The published version (qa and prod after a promotion); null for plain files (dev). */
  version: string | null;
  createdAt: string | null;
  from: string | null;
  datasets: number;
  /** Rows of the datasets whose row count is recorded. */
  rows: number;
  bytes: number;
}

/** A dataset as the API shows it: no storage URL (it may name a bucket's endpoint or a server path). */
export type DatasetView = Omit<DatasetInfo, 'url'>;

export interface VersionView {
  id: string;
  version: string;
  createdAt: string | null;
  from: string | null;
  files: number;
  bytes: number;
  /** Why this record could not be read, when it could not. */
  error?: string;
}

export interface PromotionView extends Omit<PromotionResult, 'dryRun'> {
  current: boolean;
}

export interface PromotionHistory {
  env: Environment;
  current: VersionView | null;
  promotions: PromotionView[];
  backups: VersionView[];
}

function datasetView({ url: _url, ...rest }: DatasetInfo): DatasetView {
  return rest;
}

function versionView(id: string, m: EnvManifest): VersionView {
  return {
    id,
    version: m.version,
    createdAt: m.createdAt ?? null,
    from: m.from ?? null,
    files: m.files.length,
    bytes: m.files.reduce((s, f) => s + f.size, 0),
  };
}

export class LakeService {
  readonly config: Config;
  /** The lake's root as it may be shown (credentials in a URL masked). */
  readonly root: string;
  /** The lake's storage and how it was opened (the lineage view traces and re-hashes through them). */
  readonly storage: Storage;
  readonly storageOptions: OpenStorageOptions;
  private readonly catalog: DataCatalog;
  private readonly promoter: DataPromoter;
  private readonly rollbacks = new Map<Environment, Promise<unknown>>();

  constructor(config: Config, storageOptions?: OpenStorageOptions) {
    this.config = config;
    this.root = maskSecretsInString(config.lakeRoot);
    this.storageOptions = storageOptions ?? storageOptionsFrom(config);
    this.storage = openStorage(config.lakeRoot, this.storageOptions);
    this.catalog = new DataCatalog(config, { lake: this.storage });
    this.promoter = new DataPromoter(config, { lake: this.storage });
  }

  /** Every environment with its version, dataset count, rows and bytes. */
  async environments(): Promise<EnvSummary[]> {
    const out: EnvSummary[] = [];
    for (const env of ENVIRONMENTS) {
      const [manifest, datasets] = await Promise.all([
        orNothing(this.catalog.lake.readManifest(env)),
        this.datasets(env),
      ]);
      out.push({
        env,
        version: manifest?.version ?? null,
        createdAt: manifest?.createdAt ?? null,
        from: manifest?.from ?? null,
        datasets: datasets.length,
        rows: datasets.reduce((s, d) => s + (d.rows ?? 0), 0),
        bytes: datasets.reduce((s, d) => s + d.bytes, 0),
      });
    }
    return out;
  }

  /** The datasets readers of `env` see now; none when the lake does not exist yet. */
  async datasets(env: Environment): Promise<DatasetView[]> {
    return ((await orNothing(this.catalog.listDatasets(env))) ?? []).map(datasetView);
  }

  /** One dataset (by its path in the env, `staging/x.parquet`) with its first rows. */
  async dataset(env: Environment, path: string): Promise<DatasetView & { preview: Preview }> {
    const snap = (await orNothing(this.catalog.lake.snapshot(env))) ?? { files: [] };
    const file = snap.files.find((f) => f.path === path);
    if (!file)
      throw new HttpProblem(404, `no dataset ${JSON.stringify(path.slice(0, 200))} in ${env}`, {
        details: { known: snap.files.map((f) => f.path).slice(0, 100) },
      });
    const info = await this.catalog.getModelMetadata(file.path, env);
    return { ...datasetView(info), preview: await previewDataset(this.catalog.lake, env, file) };
  }

  /** The latest pipeline runs of `env`, newest first, with their steps. */
  async runs(env: Environment, limit: number): Promise<RunRecord[]> {
    const pipeline = new Pipeline(this.config.with({ env }), { lake: this.storage });
    return (await orNothing(pipeline.getStatus(limit)))?.runs ?? [];
  }

  /** The published version of `env`, its promotions and its backups (newest first). */
  async history(env: Environment): Promise<PromotionHistory> {
    const lake = this.catalog.lake;
    const manifest = await orNothing(lake.readManifest(env));
    const internal = lake.internal(env);
    const promotions: PromotionView[] = [];
    for (const key of await this.recordKeys(internal, 'promotions/')) {
      const record = await readRecord<PromotionResult & { version: string }>(internal, key);
      if (!record.value) continue;
      const { dryRun: _dry, ...rest } = record.value;
      promotions.push({ ...rest, current: rest.version === manifest?.version });
    }
    const backups: VersionView[] = [];
    for (const key of await this.recordKeys(internal, 'backups/')) {
      const id = key.slice('backups/'.length, -'.json'.length);
      const record = await readRecord<EnvManifest>(internal, key);
      backups.push(
        record.value
          ? versionView(id, record.value)
          : { id, version: '', createdAt: null, from: null, files: 0, bytes: 0, error: record.error },
      );
    }
    return { env, current: manifest ? versionView(manifest.version, manifest) : null, promotions, backups };
  }

  /** Publishes a backup (the latest by default) as `env`'s version; one rollback per env at a time. */
  rollback(env: Environment, backup: string | undefined, allowEmpty: boolean) {
    const before = this.rollbacks.get(env) ?? Promise.resolve();
    const run = before.catch(() => {}).then(() => this.promoter.rollback(env, backup, { allowEmpty }));
    this.rollbacks.set(env, run);
    return run;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.rollbacks.values());
    await this.storage.close();
  }

  /** `<prefix><id>.json` keys, newest (the ids are time-stamped) first, at most HISTORY_LIMIT. */
  private async recordKeys(internal: Storage, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const e of internal.list({ prefix }))
        if (e.type === 'object' && e.key.endsWith('.json')) keys.push(e.key);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    return keys.sort().reverse().slice(0, HISTORY_LIMIT);
  }
}

/** A record's JSON, or why it could not be read (a history lists it rather than failing whole). */
async function readRecord<T>(store: Storage, key: string): Promise<{ value?: T; error?: string }> {
  try {
    return { value: JSON.parse((await store.get(key)).toString('utf8')) as T };
  } catch (error) {
    if (error instanceof NotFoundError) return {};
    return { error: `cannot read ${key}: ${maskSecretsInString((error as Error).message)}` };
  }
}

/** A lake (or a folder of it) that does not exist yet holds nothing: undefined, not an error. */
async function orNothing<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

export function isEnvironment(value: string): value is Environment {
  return (ENVIRONMENTS as readonly string[]).includes(value);
}
