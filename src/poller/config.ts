import { z } from 'zod';
import { ConfigurationError } from '../errors.ts';
import { parseDuration } from '../util/durations.ts';
import { HOST_RULE, normalizeHost } from '../util/host-names.ts';
import { parseSize } from '../util/sizes.ts';
import { readYamlFile } from '../util/yaml-file.ts';

/** Raw settings as flags, env or a config file give them (strings or numbers). */
export type RawPollerSettings = Partial<Record<keyof PollerConfig, string | number | boolean | undefined>>;

/** A duration setting: a number is seconds (the seed's env var), a string `30s`, `500ms`, `1h`; ms out. */
export const durationSetting = z
  .union([
    z
      .number()
      .nonnegative()
      .transform((n) => n * 1000),
    z.string(),
  ])
  .transform((v, ctx) => {
    if (typeof v === 'number') return v;
    try {
      return parseDuration(v);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** A size in bytes: a positive integer or text parseSize reads ('512MB'); a fraction of a byte or 0 is refused, not rounded. */
const bytes = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  try {
    const n = parseSize(v);
    if (n > 0) return n;
    ctx.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(v)}: must be more than 0 bytes` });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
  return z.NEVER;
});

/** The address /metrics binds (127.0.0.1 when unset, chosen by the metrics server). */
const host = z.string().transform((v, ctx) => {
  const normal = normalizeHost(v);
  if (normal !== undefined) return normal;
  ctx.addIssue({ code: 'custom', message: `must be ${HOST_RULE}` });
  return z.NEVER;
});

const int = (min: number) => z.coerce.number().int().min(min);

export const PollerConfigSchema = z.object({
  source: z
    .string({ error: 'a source URL is required (--source, SLUICE_POLL_SOURCE or PULSE_S3_BUCKET)' })
    .min(1, 'a source URL is required (--source, SLUICE_POLL_SOURCE or PULSE_S3_BUCKET)'),
  queue: z.string().min(1).default('sqlite:./sluice-queue.db'),
  queueName: z.string().min(1).default('sluice'),
  state: z.string().min(1).optional(),
  interval: durationSetting.default(60_000),
  processedPrefix: z.string().min(1).default('processed/'),
  failedPrefix: z.string().min(1).default('failed/'),
  minAge: durationSetting.default(5000),
  concurrency: int(1).default(32),
  metricsPort: int(0).max(65535).optional(),
  metricsHost: host.optional(),
  jobName: z.string().min(1).default('ingest_and_score_signal'),
  jsonArray: z.enum(['document', 'records']).default('document'),
  maxBacklog: int(1).default(100_000),
  maxObjectSize: bytes.default(1024 ** 3),
  maxRecordSize: bytes.default(64 * 1024 ** 2),
  transientAttempts: int(1).default(3),
  retryDelay: durationSetting.default(500),
  readIdleTimeout: durationSetting.default(60_000),
  leaseMs: durationSetting.optional(),
});

export type PollerConfig = z.output<typeof PollerConfigSchema>;

const clean = (o: RawPollerSettings): RawPollerSettings =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as RawPollerSettings;

/** Settings from the environment: `SLUICE_POLL_*`, plus the seed's `PULSE_S3_*` names as aliases. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RawPollerSettings {
  const pulseSource = env.PULSE_S3_BUCKET
    ? `s3://${env.PULSE_S3_BUCKET}/${env.PULSE_S3_PREFIX ?? ''}`
    : undefined;
  const pulseInterval = env.PULSE_S3_POLL_INTERVAL;
  return clean({
    source: env.SLUICE_POLL_SOURCE ?? pulseSource,
    queue: env.SLUICE_QUEUE_URL,
    queueName: env.SLUICE_QUEUE_NAME,
    state: env.SLUICE_POLL_STATE,
    // The seed's interval is whole seconds; a bare number means seconds in parseDuration too.
    interval: env.SLUICE_POLL_INTERVAL ?? pulseInterval,
    processedPrefix: env.SLUICE_POLL_PROCESSED_PREFIX ?? env.PULSE_S3_PROCESSED_PREFIX,
    failedPrefix: env.SLUICE_POLL_FAILED_PREFIX,
    minAge: env.SLUICE_POLL_MIN_AGE,
    concurrency: env.SLUICE_POLL_CONCURRENCY,
    metricsPort: env.SLUICE_METRICS_PORT,
    metricsHost: env.SLUICE_METRICS_HOST,
    jobName: env.SLUICE_POLL_JOB_NAME,
    jsonArray: env.SLUICE_POLL_JSON_ARRAY,
    maxBacklog: env.SLUICE_POLL_MAX_BACKLOG,
    maxObjectSize: env.SLUICE_POLL_MAX_OBJECT_SIZE,
    maxRecordSize: env.SLUICE_POLL_MAX_RECORD_SIZE,
    transientAttempts: env.SLUICE_POLL_TRANSIENT_ATTEMPTS,
    retryDelay: env.SLUICE_POLL_RETRY_DELAY,
    readIdleTimeout: env.SLUICE_POLL_READ_IDLE_TIMEOUT,
  });
}

/** Reads a YAML or JSON config file; its keys are the flag names in camelCase. */
export function settingsFromFile(file: string): RawPollerSettings {
  const doc = readYamlFile(file, {
    what: 'poller config',
    error: (message, options) => new ConfigurationError(message, options),
  });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigurationError(`Poller config ${file} must be a mapping of settings`);
  }
  const poller = (doc as Record<string, unknown>).poller;
  return clean((poller && typeof poller === 'object' ? poller : doc) as RawPollerSettings);
}

/** Flags win over the environment, which wins over the config file, which wins over defaults. */
export function resolvePollerConfig(input: {
  flags?: RawPollerSettings;
  env?: NodeJS.ProcessEnv;
  file?: string;
}): PollerConfig {
  const merged = {
    ...(input.file ? settingsFromFile(input.file) : {}),
    ...settingsFromEnv(input.env ?? process.env),
    ...clean(input.flags ?? {}),
  };
  const parsed = PollerConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join('.') ?? '?';
    const value = (merged as Record<string, unknown>)[name];
    throw new ConfigurationError(
      `Poller setting ${name}${value === undefined ? '' : ` = ${JSON.stringify(value)}`}: ${issue?.message ?? 'invalid'}`,
      { context: { setting: name } },
    );
  }
  return parsed.data;
}
