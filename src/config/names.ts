/**
 * Environment names and the environment variables of each setting, without the zod schema, so
 * the CLI can build its command tree without loading the validator.
 */
import type { SluiceConfigData } from './schema.ts';

export const ENVIRONMENTS = ['dev', 'qa', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Environment variable names per field, first match wins (seed names kept as aliases). */
export const ENV_NAMES: Record<keyof SluiceConfigData, readonly string[]> = {
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
};
