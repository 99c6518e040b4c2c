/**
 * The `pollers:` and `workers:` entries of the `serve:` section, read as `sluice poll` and
 * `sluice worker` read their flags (keys as the flags, camelCase; durations like 30s), with their
 * relative paths taken from the config file's folder. Every entry is checked before anything
 * starts, and a problem names the entry (`serve.workers[1].handler`).
 */
import path from 'node:path';
import { z } from 'zod';
import { ConfigurationError, type SluiceError } from '../../errors.ts';
import { durationSetting, type PollerConfig, resolvePollerConfig } from '../../poller/config.ts';
import { DEFAULT_CONNECT_TIMEOUT } from './queue-flags.ts';
import type { WorkerOptions } from './queue-worker.ts';

/** A relative local path (or `sqlite:` file) of the config file, made absolute. */
function fromFile(value: unknown, file: string | undefined): unknown {
  if (typeof value !== 'string' || !file) return value;
  const base = path.dirname(path.resolve(file));
  if (value.startsWith('sqlite:')) {
    const db = value.slice('sqlite:'.length).replace(/^\/\//, '');
    return path.isAbsolute(db) ? value : `sqlite:${path.join(base, db)}`;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || path.isAbsolute(value)) return value;
  return path.join(base, value);
}

function entryError(where: string, message: string): SluiceError {
  return new ConfigurationError(`${where}: ${message}`, { context: { setting: where } });
}

export function resolvePollerEntry(
  entry: Record<string, unknown>,
  index: number,
  file?: string,
): PollerConfig {
  const where = `serve.pollers[${index}]`;
  const flags = { ...entry };
  for (const key of ['source', 'queue', 'state'] as const)
    if (key in flags) flags[key] = fromFile(flags[key], file);
  try {
    // The metrics of a served poller are the server's /metrics: no port of its own.
    return { ...resolvePollerConfig({ flags: flags as never }), metricsPort: undefined };
  } catch (error) {
    throw entryError(where, (error as Error).message);
  }
}

const workerEntrySchema = z
  .object({
    queue: z.string().min(1),
    queueName: z.string().min(1).default('sluice'),
    handler: z.string().min(1),
    /** A time-series store path or URL for ingest_and_score_signal… */
    store: z.string().min(1).optional(),
    /** …or the name of one of the server's own stores (shared with HTTP writes). */
    timeseries: z.string().min(1).optional(),
    storeLease: z.string().min(1).optional(),
    concurrency: z.number().int().min(1).default(1),
    attempts: z.number().int().min(1).default(5),
    backoff: z.number().int().min(0).default(1000),
    lease: durationSetting.default(30_000),
    connectTimeout: z.string().min(1).default(DEFAULT_CONNECT_TIMEOUT),
  })
  .strict()
  .refine((w) => !(w.store && w.timeseries), { message: 'give store or timeseries, not both' });

export interface WorkerEntry {
  options: WorkerOptions;
  /** The server store the handler writes, when the entry names one. */
  timeseries: string | undefined;
}

export function resolveWorkerEntry(
  entry: Record<string, unknown>,
  index: number,
  file?: string,
): WorkerEntry {
  const where = `serve.workers[${index}]`;
  const parsed = workerEntrySchema.safeParse({
    ...entry,
    ...('queue' in entry ? { queue: fromFile(entry.queue, file) } : {}),
    ...('store' in entry ? { store: fromFile(entry.store, file) } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw entryError(
      `${where}${issue?.path.length ? `.${issue.path.join('.')}` : ''}`,
      issue?.message ?? 'invalid',
    );
  }
  const { timeseries, ...options } = parsed.data;
  return { options: options as WorkerOptions, timeseries };
}
