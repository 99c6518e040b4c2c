/**
 * Where datasets are and what they hold. Reads resolve through the env's manifest when it has
 * one (qa, prod after promotion), so the catalog always describes one whole version.
 */
import type { Config } from '../config/config.ts';
import type { Environment } from '../config/schema.ts';
import { NotFoundError } from '../errors.ts';
import { openStorage } from '../storage/open.ts';
import { assertEnv, Lake, type LakeFile } from './lake.ts';
import { readLoadRecord } from './load-records.ts';
import { loadModels } from './models.ts';
import { type PipelineOptions, storageOptionsFrom } from './options.ts';

export interface DatasetInfo {
  name: string;
  layer: 'landing' | 'staging';
  /** Logical path in the env. */
  path: string;
  /** Full URL of the bytes readers should open now. */
  url: string;
  columns: { name: string; type: string }[];
  description: string;
  rows: number | null;
  bytes: number;
  sha256: string | null;
  lastUpdated: string | null;
  dependsOn: string[];
}

export class DataCatalog {
  readonly config: Config;
  readonly lake: Lake;

  constructor(config: Config, options: PipelineOptions = {}) {
    this.config = config;
    this.lake = new Lake(
      options.lake ?? openStorage(config.lakeRoot, options.storageOptions ?? storageOptionsFrom(config)),
    );
  }

  private envOf(env?: string): Environment {
    return env ? assertEnv(env) : this.config.env;
  }

  private urlOf(env: Environment, key: string): string {
    return `${this.lake.storage.url.replace(/\/$/, '')}/${env}/${key}`;
  }

  /** Source names with landed data, sorted. */
  async listSources(env?: string): Promise<string[]> {
    const snap = await this.lake.snapshot(this.envOf(env));
    const sources = new Set<string>();
    for (const f of snap.files) {
      const m = /^landing\/([^/]+)\//.exec(f.path);
      if (m?.[1]) sources.add(m[1]);
    }
    return [...sources].sort();
  }

  /** Files of a source with the given extension (landing first file's URL, as the seed returns one). */
  async getSourcePath(source: string, fileType = 'parquet', env?: string): Promise<string> {
    const paths = await this.getSourcePaths(source, fileType, env);
    const first = paths[0];
    if (!first) {
      throw new NotFoundError(`No ${fileType} files for source ${source} in ${this.envOf(env)}`, {
        context: { source, fileType },
      });
    }
    return first;
  }

  async getSourcePaths(source: string, fileType = 'parquet', env?: string): Promise<string[]> {
    const e = this.envOf(env);
    const snap = await this.lake.snapshot(e);
    return snap.files
      .filter((f) => f.path.startsWith(`landing/${source}/`) && f.path.endsWith(`.${fileType}`))
      .map((f) => this.urlOf(e, f.path));
  }

  /** Every dataset (landing files and staging models) readers see now. */
  async listDatasets(env?: string): Promise<DatasetInfo[]> {
    const e = this.envOf(env);
    const snap = await this.lake.snapshot(e);
    const out: DatasetInfo[] = [];
    for (const f of snap.files) out.push(await this.info(e, f, snap.version !== undefined));
    return out;
  }

  /**
   * Columns with types, description, row count and last update of a model (`staging/<name>`)
   * or a landing dataset (`<source>/<name>`); a model's description comes from its SQL header.
   */
  async getModelMetadata(modelName: string, env?: string): Promise<DatasetInfo> {
    const e = this.envOf(env);
    const snap = await this.lake.snapshot(e);
    const bare = modelName.replace(/^staging\./, '');
    const f =
      snap.files.find((x) => x.path === `staging/${bare}.parquet`) ??
      snap.files.find((x) => x.path === `landing/${modelName}.parquet`) ??
      snap.files.find((x) => x.path === modelName);
    if (!f) {
      throw new NotFoundError(
        `No model or dataset ${modelName} in ${e}; see \`sluice catalog ls --env ${e}\` (known: ${snap.files.map((x) => x.path).join(', ') || 'none'})`,
        { context: { model: modelName, env: e } },
      );
    }
    const info = await this.info(e, f, snap.version !== undefined);
    if (!info.description && info.layer === 'staging') {
      const models = await loadModels(this.config.modelsDir).catch(() => []);
      info.description = models.find((m) => m.name === bare)?.description ?? '';
    }
    return info;
  }

  private async info(env: Environment, f: LakeFile, viaManifest: boolean): Promise<DatasetInfo> {
    const rec = viaManifest ? undefined : await readLoadRecord(this.lake.internal(env), f.path);
    const layer = f.path.startsWith('staging/') ? 'staging' : 'landing';
    const stat = await this.lake.storage.stat(f.key).catch(() => undefined);
    return {
      name: f.path.replace(/^(landing|staging)\//, '').replace(/\.parquet$/, ''),
      layer,
      path: f.path,
      url: this.urlOf(env, f.path),
      columns: f.columns ?? rec?.columns ?? [],
      description: f.description ?? rec?.description ?? '',
      rows: f.rows ?? rec?.rows ?? null,
      bytes: f.size,
      sha256: f.sha256 ?? rec?.sha256 ?? stat?.metadata.sha256 ?? null,
      lastUpdated: rec?.loadedAt ?? stat?.mtime.toISOString() ?? null,
      dependsOn: rec?.dependsOn ?? [],
    };
  }
}
