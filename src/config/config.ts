import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import { maskSensitiveData } from '../secrets/mask.ts';
import { readYamlFile } from '../util/yaml-file.ts';
import { locateConfigFile } from './names.ts';
import {
  configSchema,
  ENV_NAMES_BY_SETTING as ENV_NAMES,
  type Environment,
  type SluiceConfigData,
} from './schema.ts';

export { DEFAULT_CONFIG_FILE } from './names.ts';

export interface LoadConfigOptions {
  /** Path of a YAML file. @default SLUICE_CONFIG, else ./sluice.config.yaml when it exists */
  file?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Values that win over file and environment (CLI flags). */
  overrides?: Partial<SluiceConfigData>;
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, names] of Object.entries(ENV_NAMES)) {
    for (const name of names) {
      const value = env[name];
      if (value !== undefined && value !== '') {
        out[field] = value;
        break;
      }
    }
  }
  return out;
}

function readFile(file: string): Record<string, unknown> {
  const data =
    readYamlFile(file, {
      what: 'config file',
      error: (message, options) => new ConfigurationError(message, options),
    }) ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigurationError(`Config file ${file} must hold a mapping of settings`, {
      context: { file },
    });
  }
  return data as Record<string, unknown>;
}

function describeIssues(
  issues: { path: PropertyKey[]; message: string }[],
  sources: Record<string, string>,
): string[] {
  return issues.map((i) => {
    const field = i.path.map(String).join('.') || '(root)';
    const where = sources[field] ? ` (from ${sources[field]})` : '';
    return `${field}${where}: ${i.message}`;
  });
}

/** Settings that are paths (or storage URLs): relative ones are read from the config's folder. */
const PATH_FIELDS = ['dataDir', 'modelsDir', 'lakeRoot', 'ingestBaseDir'] as const;

/**
 * A config file's relative paths, and the defaults beside them, belong to the file's folder (the
 * project), not to wherever the command runs: `sluice run -c /proj/sluice.config.yaml` from any
 * folder acts on /proj. Paths from the environment or overrides stay relative to the current
 * folder, like any shell value. When the file is in the current folder nothing changes.
 */
function relativeToFile(
  data: SluiceConfigData,
  sources: Record<string, string>,
  file: string,
): SluiceConfigData {
  const base = path.dirname(path.resolve(file));
  if (base === process.cwd()) return data;
  const out = { ...data };
  for (const field of PATH_FIELDS) {
    const source = sources[field];
    const fromFile = source === undefined || source === path.resolve(file);
    const value = out[field];
    if (!fromFile || path.isAbsolute(value) || /^[a-z][a-z0-9+.-]*:/i.test(value)) continue;
    out[field] = path.join(base, value);
  }
  return out;
}

/**
 * Typed configuration from defaults < `sluice.config.yaml` < environment < overrides, validated
 * with zod. The seed's `Config`: `env`, `s3Bucket`, `awsRegion`, `username`, `dataDir`,
 * `modelsDir`, `getS3Path()` and `validate()`.
 */
export class Config {
  readonly data: Readonly<SluiceConfigData>;
  /** Where each value came from: 'default', a file path, or an env variable name. */
  readonly sources: Readonly<Record<string, string>>;

  constructor(data: SluiceConfigData, sources: Record<string, string> = {}) {
    this.data = Object.freeze({ ...data });
    this.sources = Object.freeze({ ...sources });
  }

  static load(options: LoadConfigOptions = {}): Config {
    const env = options.env ?? process.env;
    const file = locateConfigFile(options.file, env);
    const sources: Record<string, string> = {};
    const fileData = file ? readFile(file) : {};
    for (const k of Object.keys(fileData)) sources[k] = path.resolve(file ?? '');
    const envData = fromEnv(env);
    for (const k of Object.keys(envData)) {
      const name = ENV_NAMES[k as keyof SluiceConfigData].find((n) => env[n] !== undefined && env[n] !== '');
      if (name) sources[k] = `$${name}`;
    }
    for (const k of Object.keys(options.overrides ?? {})) sources[k] = 'override';
    const merged = { ...fileData, ...envData, ...options.overrides };
    const parsed = configSchema.safeParse(merged);
    if (!parsed.success) {
      const problems = describeIssues(parsed.error.issues, sources);
      throw new ConfigurationError(`Invalid configuration: ${problems.join('; ')}`, {
        context: { problems },
      });
    }
    return new Config(file ? relativeToFile(parsed.data, sources, file) : parsed.data, sources);
  }

  get env(): Environment {
    return this.data.env;
  }
  get s3Bucket(): string | undefined {
    return this.data.s3Bucket;
  }
  get awsRegion(): string {
    return this.data.awsRegion;
  }
  get username(): string | undefined {
    return this.data.username;
  }
  get dataDir(): string {
    return this.data.dataDir;
  }
  get modelsDir(): string {
    return this.data.modelsDir;
  }
  get lakeRoot(): string {
    return this.data.lakeRoot;
  }
  /** Whether the pipeline records lineage (default true). */
  get lineage(): boolean {
    return this.data.lineage;
  }
  /** Where OpenLineage events go (undefined: nowhere). */
  get openLineage(): { url?: string; apiKey?: string; file?: string } | undefined {
    const { openlineageUrl: url, openlineageApiKey: apiKey, openlineageFile: file } = this.data;
    if (url === undefined && file === undefined) return undefined;
    return {
      ...(url === undefined ? {} : { url }),
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(file === undefined ? {} : { file }),
    };
  }

  /** A copy with some values replaced (validated again). */
  with(overrides: Partial<SluiceConfigData>): Config {
    const parsed = configSchema.safeParse({ ...this.data, ...overrides });
    if (!parsed.success) {
      throw new ConfigurationError(
        `Invalid configuration: ${describeIssues(parsed.error.issues, {}).join('; ')}`,
      );
    }
    return new Config(parsed.data, {
      ...this.sources,
      ...Object.fromEntries(Object.keys(overrides).map((k) => [k, 'override'])),
    });
  }

  /** `getS3Path('landing', 'sdg/data.parquet')` → `dev/landing/sdg/data.parquet`. */
  getS3Path(prefix: string, suffix = ''): string {
    const parts = [this.env, prefix, suffix].map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '');
    return parts.join('/');
  }

  /** Every problem at once (empty when the configuration is usable). */
  problems(): string[] {
    const problems: string[] = [];
    const dir = (field: 'dataDir' | 'modelsDir') => {
      const value = this.data[field];
      if (!existsSync(value)) problems.push(`${field}: directory ${value} does not exist`);
      else if (!statSync(value).isDirectory()) problems.push(`${field}: ${value} is not a directory`);
    };
    dir('dataDir');
    dir('modelsDir');
    if (this.data.lakeRoot.startsWith('s3://') && this.data.s3Bucket) {
      const bucket = this.data.lakeRoot.slice(5).split('/')[0];
      if (bucket !== this.data.s3Bucket)
        problems.push(`lakeRoot: bucket ${bucket} differs from s3Bucket ${this.data.s3Bucket}`);
    }
    if (this.data.awsSecretAccessKey && !this.data.awsAccessKeyId) {
      problems.push('awsAccessKeyId: set AWS_ACCESS_KEY_ID together with AWS_SECRET_ACCESS_KEY');
    }
    return problems;
  }

  /** True when valid; otherwise throws ConfigurationError (E001) listing every problem. */
  validate(): true {
    const problems = this.problems();
    if (problems.length > 0) {
      throw new ConfigurationError(
        `Configuration has ${problems.length} problem(s): ${problems.join('; ')}`,
        { context: { problems } },
      );
    }
    return true;
  }

  /** The settings with secrets masked, safe to print or log. */
  toJSON(): Record<string, unknown> {
    return maskSensitiveData({ ...this.data }, [
      'secret',
      'password',
      'token',
      'access_key_id',
      'private_key',
    ]) as Record<string, unknown>;
  }
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  return Config.load(options);
}
