/**
 * Environment names, the environment variables of each setting and where the config file is,
 * without the zod schema, so the CLI can build its command tree (and tell whether a config file
 * is in play) without loading the validator.
 */
import { existsSync } from 'node:fs';

export const DEFAULT_CONFIG_FILE = 'sluice.config.yaml';

/** The config file in effect: `file`, else $SLUICE_CONFIG, else ./sluice.config.yaml when it exists. */
export function locateConfigFile(file?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return file ?? env.SLUICE_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
}

export const ENVIRONMENTS = ['dev', 'qa', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/**
 * Environment variable names per setting, first match wins (seed names kept as aliases). Keyed by
 * the settings of `schema.ts`, which checks at compile time that every setting has its names.
 */
export const ENV_NAMES = {
  env: ['SLUICE_ENV', 'ENVIRONMENT'],
  s3Bucket: ['SLUICE_S3_BUCKET', 'S3_BUCKET'],
  awsRegion: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
  s3Endpoint: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
  username: ['SLUICE_USERNAME', 'USERNAME', 'USER'],
  dataDir: ['SLUICE_DATA_DIR', 'DATA_DIR'],
  modelsDir: ['SLUICE_MODELS_DIR', 'MODELS_DIR'],
  lakeRoot: ['SLUICE_LAKE_ROOT'],
  ingestBaseDir: ['SLUICE_INGEST_BASE_DIR'],
  awsAccessKeyId: ['AWS_ACCESS_KEY_ID'],
  awsSecretAccessKey: ['AWS_SECRET_ACCESS_KEY'],
  awsSessionToken: ['AWS_SESSION_TOKEN'],
  sensitiveNames: ['SLUICE_SENSITIVE_NAMES'],
  lineage: ['SLUICE_LINEAGE'],
  openlineageUrl: ['SLUICE_OPENLINEAGE_URL', 'OPENLINEAGE_URL'],
  openlineageApiKey: ['SLUICE_OPENLINEAGE_API_KEY', 'OPENLINEAGE_API_KEY'],
  openlineageFile: ['SLUICE_OPENLINEAGE_FILE'],
} as const satisfies Record<string, readonly string[]>;
