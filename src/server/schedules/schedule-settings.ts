/**
 * The `schedules:` entries of the `serve:` section: a pipeline run (as `sluice run` takes it: mode,
 * env, config file) at the times of a cron expression, read by croner. Each entry is checked in
 * full when the config is read — a pattern croner refuses, one that never fires, an unknown time
 * zone, a duplicate name — so a bad schedule stops the service before anything listens.
 *
 * ```yaml
 * schedules:
 *   - name: nightly
 *     cron: "0 2 * * *"          # minute hour day-of-month month day-of-week; 6 fields: seconds first
 *     timezone: Europe/Paris     # IANA name; default UTC
 *     run: { mode: full, env: dev, config: ./other.config.yaml }   # all optional
 * ```
 */
import path from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import { ENVIRONMENTS, type Environment } from '../../config/names.ts';
import { PIPELINE_MODES, type PipelineMode } from '../../pipeline/pipeline.ts';

/** Five fields (minute … day of week) or six with seconds first; `@daily`-style nicknames too. */
export const CRON_MODE = '5-or-6-parts';
export const DEFAULT_TIMEZONE = 'UTC';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ScheduleSetting {
  name: string;
  /** The cron expression as written. */
  cron: string;
  /** IANA time zone the expression is read in. */
  timezone: string;
  run: {
    mode: PipelineMode;
    /** The environment to run in. @default the config's env */
    env?: Environment;
    /** Another config file (absolute) whose pipeline runs. @default the server's config */
    config?: string;
  };
}

function isTimezone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Why croner cannot schedule `pattern` in `timezone` (undefined when it can). */
export function cronProblem(pattern: string, timezone: string): string | undefined {
  let cron: Cron | undefined;
  try {
    cron = new Cron(pattern, { paused: true, timezone, mode: CRON_MODE });
    if (cron.nextRun() === null) return `cron expression ${JSON.stringify(pattern)} never fires`;
    return undefined;
  } catch (error) {
    const why = ((error as Error).message ?? String(error)).replace(/^CronPattern: /, '');
    return `invalid cron expression ${JSON.stringify(pattern)}: ${why} (five fields, minute hour day-of-month month day-of-week, or six with seconds first)`;
  } finally {
    cron?.stop();
  }
}

const scheduleEntrySchema = z
  .object({
    name: z.string().regex(NAME, 'a schedule name is 1–64 letters, digits, ".", "-" or "_"'),
    cron: z.string().trim().min(1),
    timezone: z.string().min(1).optional(),
    run: z
      .object({
        mode: z.enum(PIPELINE_MODES).optional(),
        env: z.enum(ENVIRONMENTS).optional(),
        config: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((entry, ctx) => {
    const where = `schedule ${JSON.stringify(entry.name)}`;
    const timezone = entry.timezone ?? DEFAULT_TIMEZONE;
    if (!isTimezone(timezone)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `${where}: unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as UTC or Europe/Paris)`,
      });
      return;
    }
    const problem = cronProblem(entry.cron, timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: `${where}: ${problem}` });
  });

export const schedulesSchema = z.array(scheduleEntrySchema).superRefine((entries, ctx) => {
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    if (seen.has(e.name))
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `schedule name ${JSON.stringify(e.name)} is used twice (names label metrics and logs)`,
      });
    seen.add(e.name);
  });
});

export type ScheduleEntry = z.output<typeof scheduleEntrySchema>;

/** An entry with its defaults, its config path taken from the config file's folder. */
export function resolveScheduleEntry(entry: ScheduleEntry, file: string | undefined): ScheduleSetting {
  const config = entry.run?.config;
  return {
    name: entry.name,
    cron: entry.cron,
    timezone: entry.timezone ?? DEFAULT_TIMEZONE,
    run: {
      mode: entry.run?.mode ?? 'full',
      ...(entry.run?.env ? { env: entry.run.env } : {}),
      ...(config
        ? { config: file ? path.resolve(path.dirname(path.resolve(file)), config) : path.resolve(config) }
        : {}),
    },
  };
}
