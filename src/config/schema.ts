import { z } from 'zod';
import { ENV_NAMES, ENVIRONMENTS } from './names.ts';

export { ENVIRONMENTS, type Environment } from './names.ts';

const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3–63 lower-case letters, digits, dots or hyphens');

/** An on/off setting from the environment: `1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no` (any case). */
function switchValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(v)) return true;
  if (['0', 'false', 'off', 'no'].includes(v)) return false;
  return value;
}

/** Every setting, with its default. Secrets (credentials) are masked whenever a config is printed. */
export const configSchema = z.object({
  /** Environment of the lake: dev, qa or prod. Env: SLUICE_ENV or ENVIRONMENT. */
  env: z.enum(ENVIRONMENTS).default('dev'),
  /** Bucket of the lake on S3. Env: SLUICE_S3_BUCKET or S3_BUCKET. */
  s3Bucket: bucketName.optional(),
  /**
   * Env: AWS_REGION or AWS_DEFAULT_REGION. AWS names (us-east-1) and those of S3-compatible
   * services (R2's auto, Spaces' nyc3, Scaleway's fr-par, Backblaze's us-west-004).
   */
  awsRegion: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a region name such as us-east-1 (or auto, nyc3, fr-par)')
    .default('us-east-1'),
  /** Custom S3 endpoint (MinIO, s3rver). Env: AWS_ENDPOINT_URL. */
  s3Endpoint: z.url().optional(),
  /** Who runs the pipeline (recorded in run history). Env: SLUICE_USERNAME, USERNAME or USER. */
  username: z.string().min(1).optional(),
  /** Local data directory (raw CSVs under `raw/`). Env: SLUICE_DATA_DIR or DATA_DIR. */
  dataDir: z.string().min(1).default('./data'),
  /** SQL models directory. Env: SLUICE_MODELS_DIR or MODELS_DIR. */
  modelsDir: z.string().min(1).default('./models'),
  /** Storage URL of the lake root: a path or s3://bucket/prefix. Env: SLUICE_LAKE_ROOT. */
  lakeRoot: z.string().min(1).default('./data/lake'),
  /** Base of API ingestion persistence. Env: SLUICE_INGEST_BASE_DIR. */
  ingestBaseDir: z.string().min(1).default('data/api_ingestion'),
  /** Env: AWS_ACCESS_KEY_ID. */
  awsAccessKeyId: z.string().optional(),
  /** Env: AWS_SECRET_ACCESS_KEY. Never printed unmasked. */
  awsSecretAccessKey: z.string().optional(),
  /** Env: AWS_SESSION_TOKEN, for temporary (STS) keys. Never printed unmasked. */
  awsSessionToken: z.string().optional(),
  /**
   * Names masked wherever sluice writes, beside the built-in vocabulary (which cannot be
   * removed): `[customer_ref, x-tenant-id]`. Env: SLUICE_SENSITIVE_NAMES (comma-separated).
   */
  sensitiveNames: z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((n) => n.trim())
              .filter((n) => n.length > 0)
          : v,
      z.array(z.string().min(1)),
    )
    .default([]),
  /**
   * Record lineage (docs/lineage.md): every file the pipeline writes gets a record of its inputs
   * and hash under `<lakeRoot>/_sluice/lineage/`. Env: SLUICE_LINEAGE (`0`, `false`, `off` or `no`
   * turn it off).
   */
  lineage: z
    .preprocess(switchValue, z.boolean({ error: 'must be true or false (or 1/0, on/off, yes/no)' }))
    .default(true),
  /** An OpenLineage collector (Marquez, …) that gets a START and a COMPLETE/FAIL per step. */
  openlineageUrl: z.url().optional(),
  /** Sent as `Authorization: Bearer …` to the collector; always masked. */
  openlineageApiKey: z.string().min(1).optional(),
  /** A JSONL file OpenLineage events are appended to (besides or instead of a collector). */
  openlineageFile: z.string().min(1).optional(),
});

export type SluiceConfigData = z.infer<typeof configSchema>;

/** The environment variables of each setting; a setting without them does not compile. */
export const ENV_NAMES_BY_SETTING: Record<keyof SluiceConfigData, readonly string[]> = ENV_NAMES;
