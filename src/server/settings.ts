/**
 * The `serve:` section of sluice.config.yaml, merged once: defaults < file < environment < flags.
 * Unknown keys are refused (a typo must not silently keep a default), paths are relative to the
 * config file's folder, and every problem names its setting.
 *
 * ```yaml
 * serve:
 *   host: 127.0.0.1           # 0.0.0.0 to listen on every interface
 *   port: 8080                # 0: any free port (the bound one is printed)
 *   shutdownGrace: 10s        # time in-flight requests get after SIGTERM
 *   tokens: [write:…, read:…] # or SLUICE_API_TOKENS=write:…,read:…
 *   dashboard: true           # the web dashboard at /
 *   timeseries: { root: ./data/timeseries, autoCreate: true, durability: fsync }
 *   limits: { maxBodySize: 16MiB, maxPointsPerRequest: 200000, maxQueryPoints: 500000 }
 *   pollers: [ { source: ./inbox, queue: sqlite:./q.db } ]     # as `sluice poll` flags
 *   workers: [ { queue: sqlite:./q.db, handler: noop } ]      # as `sluice worker` flags
 *   schedules: [ { name: nightly, cron: "0 2 * * *", run: { mode: full } } ]  # schedules/
 * ```
 */
import path from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../errors.ts';
import { parseDuration } from '../util/durations.ts';
import { parseSize } from '../util/sizes.ts';
import { readYamlFile } from '../util/yaml-file.ts';
import { DEFAULT_LIMITS, type ServerLimits } from './context.ts';
import { DEFAULT_HOST } from './listen.ts';
import {
  resolveScheduleEntry,
  type ScheduleSetting,
  schedulesSchema,
} from './schedules/schedule-settings.ts';

/** A number (times `unit`) or a text `read` understands. */
const readWith = (read: (text: string) => number, what: string, unit: number) =>
  z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') return v * unit;
    try {
      return read(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `invalid ${what} ${JSON.stringify(v)}` });
      return z.NEVER;
    }
  });
// A bare number is seconds, as elsewhere in sluice's config (util/durations.ts); a size, bytes.
const duration = readWith(parseDuration, 'duration', 1000);
const size = readWith(parseSize, 'size', 1);
const count = z.number().int().positive();

const entry = z.record(z.string(), z.unknown());

export const serveSectionSchema = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    shutdownGrace: duration.optional(),
    tokens: z.union([z.string(), z.array(z.string())]).optional(),
    dashboard: z.boolean().optional(),
    timeseries: z
      .object({
        root: z.string().min(1).optional(),
        autoCreate: z.boolean().optional(),
        durability: z.enum(['fsync', 'os']).optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        maxBodySize: size.optional(),
        maxPointsPerRequest: count.optional(),
        maxQueryPoints: count.optional(),
      })
      .strict()
      .optional(),
    pollers: z.array(entry).optional(),
    workers: z.array(entry).optional(),
    schedules: schedulesSchema.optional(),
  })
  .strict();

export type ServeSection = z.output<typeof serveSectionSchema>;

/** Flags of `sluice serve` that override the file. */
export interface ServeFlags {
  host?: string;
  port?: number;
  shutdownGraceMs?: number;
  timeseriesRoot?: string;
}

export interface ServeSettings {
  host: string;
  port: number;
  shutdownGraceMs: number;
  /** Token specs from the file (parsed with the environment's by TokenSet.from). */
  tokens: string | string[] | undefined;
  /** Serve the web dashboard at `/`. */
  dashboard: boolean;
  timeseriesRoot: string;
  autoCreate: boolean;
  durability: 'fsync' | 'os';
  limits: ServerLimits;
  /** Raw entries, checked by the poll and worker commands' own settings. */
  pollers: Record<string, unknown>[];
  workers: Record<string, unknown>[];
  /** Pipeline runs at the times of cron expressions, checked in full. */
  schedules: ScheduleSetting[];
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** The `serve:` section of `file` (empty without a file or a section). */
export function readServeSection(file: string | undefined): ServeSection {
  if (!file) return {};
  const doc = readYamlFile(file, {
    what: 'config file',
    error: (message, options) => new ConfigurationError(message, options),
  });
  const section =
    doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>).serve : undefined;
  if (section === undefined || section === null) return {};
  const parsed = serveSectionSchema.safeParse(section);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${settingPath(i.path)}: ${i.message}`);
    throw new ConfigurationError(`Invalid serve settings in ${file}: ${problems.join('; ')}`, {
      context: { file, problems },
    });
  }
  return parsed.data;
}

/** `serve.schedules[1].cron`: list positions in brackets, as the entries' own messages name them. */
function settingPath(at: readonly PropertyKey[]): string {
  return at.reduce<string>(
    (out, k) => (typeof k === 'number' ? `${out}[${k}]` : `${out}.${String(k)}`),
    'serve',
  );
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Relative paths of the file belong to its folder; URLs stay as written. */
function fromFile(value: string, file: string | undefined): string {
  if (!file || path.isAbsolute(value) || URL_SCHEME.test(value)) return value;
  return path.join(path.dirname(path.resolve(file)), value);
}

export function resolveServeSettings(input: {
  file?: string | undefined;
  section: ServeSection;
  flags?: ServeFlags;
  /** The data folder of the main config: the time-series root defaults to `<dataDir>/timeseries`. */
  dataDir: string;
}): ServeSettings {
  const { section, flags = {}, file } = input;
  const ts = section.timeseries ?? {};
  const limits = section.limits ?? {};
  const given =
    flags.timeseriesRoot ?? (ts.root ? fromFile(ts.root, file) : path.join(input.dataDir, 'timeseries'));
  // A local root is made absolute once, so messages and /readyz name the folder really used.
  const root = URL_SCHEME.test(given) ? given : path.resolve(given);
  return {
    host: flags.host ?? section.host ?? DEFAULT_HOST,
    port: flags.port ?? section.port ?? DEFAULT_PORT,
    shutdownGraceMs: flags.shutdownGraceMs ?? section.shutdownGrace ?? DEFAULT_SHUTDOWN_GRACE_MS,
    tokens: section.tokens,
    dashboard: section.dashboard ?? true,
    timeseriesRoot: root,
    autoCreate: ts.autoCreate ?? true,
    durability: ts.durability ?? 'fsync',
    limits: {
      maxBodyBytes: limits.maxBodySize ?? DEFAULT_LIMITS.maxBodyBytes,
      maxPointsPerRequest: limits.maxPointsPerRequest ?? DEFAULT_LIMITS.maxPointsPerRequest,
      maxQueryPoints: limits.maxQueryPoints ?? DEFAULT_LIMITS.maxQueryPoints,
    },
    pollers: section.pollers ?? [],
    workers: section.workers ?? [],
    schedules: (section.schedules ?? []).map((e) => resolveScheduleEntry(e, file)),
  };
}
