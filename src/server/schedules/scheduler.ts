/**
 * Scheduled pipeline runs inside `sluice serve`: croner fires each schedule at its times, and the
 * run goes in-process, recorded in the lake's run history like any `sluice run` (with `trigger:
 * "schedule <name>"`). Rules:
 * - A schedule never overlaps itself: a tick that comes while its last run still goes is skipped,
 *   counted (`outcome="skipped"`) and logged. Runs of different schedules on the same lake and
 *   environment wait for each other, since two runs there would race to publish.
 * - A failed run is logged with its error code and counted; the service goes on.
 * - `stop(graceMs)` stops every timer at once, then waits for runs in flight for at most the grace
 *   period; a run still going then is aborted, abandoned and named in the summary.
 */
import { Cron } from 'croner';
import { Config } from '../../config/config.ts';
import { ConfigurationError, toSluiceError } from '../../errors.ts';
import type { Logger } from '../../logging/logger.ts';
import type { ScheduleMetrics } from '../../metrics/schedule.ts';
import { maskSecretsInString } from '../../secrets/mask.ts';
import { CRON_MODE, type ScheduleSetting } from './schedule-settings.ts';
import { runScheduledPipeline } from './scheduled-run.ts';
import type {
  LastRun,
  RunScheduled,
  ScheduledPipeline,
  ScheduleOutcome,
  ScheduleStatus,
  ScheduleStopSummary,
} from './types.ts';

export interface SchedulerOptions {
  schedules: readonly ScheduledPipeline[];
  metrics: ScheduleMetrics;
  log: Logger;
  /** Runs one scheduled run. @default runScheduledPipeline: the schedule's Pipeline on its lake */
  run?: RunScheduled;
}

interface Entry {
  spec: ScheduledPipeline;
  cron: Cron;
  /** The run going now, settled when it has been counted. */
  inFlight: Promise<void> | undefined;
  runningSince: Date | undefined;
  abort: AbortController | undefined;
  lastRun: LastRun | undefined;
  counts: Record<ScheduleOutcome, number>;
}

/** The schedules with their Config: `run.config` loaded, `run.env` applied (E001 naming the schedule). */
export function resolveSchedules(
  settings: readonly ScheduleSetting[],
  pipelineConfig: Config | undefined,
): ScheduledPipeline[] {
  return settings.map((s) => {
    const where = `serve.schedules ${JSON.stringify(s.name)}`;
    try {
      const base = s.run.config
        ? Config.load({ file: s.run.config })
        : (pipelineConfig ??
          (() => {
            throw new ConfigurationError('the server has no pipeline config: give run.config');
          })());
      const config = s.run.env ? base.with({ env: s.run.env }) : base;
      return { name: s.name, cron: s.cron, timezone: s.timezone, mode: s.run.mode, config };
    } catch (error) {
      const e = toSluiceError(error);
      throw new ConfigurationError(`${where}: ${e.message}`, {
        cause: error,
        context: { schedule: s.name, ...(s.run.config ? { file: s.run.config } : {}) },
      });
    }
  });
}

export class Scheduler {
  private readonly entries: Entry[];
  private readonly metrics: ScheduleMetrics;
  private readonly log: Logger;
  private readonly run: RunScheduled;
  /** The run going on each lake and environment, so two schedules never run there at once. */
  private readonly lanes = new Map<string, Promise<unknown>>();
  private started = false;
  private stopping: Promise<ScheduleStopSummary> | undefined;

  constructor(options: SchedulerOptions) {
    this.metrics = options.metrics;
    this.log = options.log;
    this.run = options.run ?? runScheduledPipeline;
    this.entries = options.schedules.map((spec) => {
      const entry: Entry = {
        spec,
        inFlight: undefined,
        runningSince: undefined,
        abort: undefined,
        lastRun: undefined,
        counts: { succeeded: 0, failed: 0, skipped: 0 },
        cron: new Cron(
          spec.cron,
          {
            paused: true,
            timezone: spec.timezone,
            mode: CRON_MODE,
            protect: () => this.skip(entry),
          },
          () => this.tick(entry),
        ),
      };
      this.metrics.running.set({ schedule: spec.name }, 0);
      for (const outcome of ['succeeded', 'failed', 'skipped'] as const)
        this.metrics.runs.inc({ schedule: spec.name, outcome }, 0);
      return entry;
    });
  }

  /** Starts every schedule's timer (once; not after stop). */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    for (const e of this.entries) {
      e.cron.resume();
      this.updateNext(e);
    }
  }

  /** Names of the schedules whose run is going now. */
  inFlight(): string[] {
    return this.entries.filter((e) => e.inFlight).map((e) => e.spec.name);
  }

  list(): ScheduleStatus[] {
    return this.entries.map((e) => {
      const next = this.started && !this.stopping ? e.cron.nextRun() : null;
      return {
        name: e.spec.name,
        cron: e.spec.cron,
        timezone: e.spec.timezone,
        mode: e.spec.mode,
        env: e.spec.config.env,
        state: this.stopping ? 'stopped' : !this.started ? 'not started' : e.inFlight ? 'running' : 'waiting',
        nextRunAt: next ? next.toISOString() : null,
        runningSince: e.runningSince ? e.runningSince.toISOString() : null,
        lastRun: e.lastRun ?? null,
        counts: { ...e.counts },
      };
    });
  }

  /** Stops the timers, then waits for runs in flight up to `graceMs`; safe to call twice. */
  stop(graceMs: number): Promise<ScheduleStopSummary> {
    this.stopping ??= this.stopAll(graceMs);
    return this.stopping;
  }

  private async stopAll(graceMs: number): Promise<ScheduleStopSummary> {
    for (const e of this.entries) {
      e.cron.stop();
      this.metrics.nextRun.set({ schedule: e.spec.name }, 0);
    }
    const flying = this.entries.filter((e) => e.inFlight);
    if (flying.length === 0) return { finished: [], abandoned: [] };
    const names = flying.map((e) => e.spec.name);
    this.log.info({ schedules: names, graceMs }, 'waiting for scheduled runs in flight');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(flying.map((e) => e.inFlight)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    const abandoned = flying.filter((e) => e.inFlight);
    for (const e of abandoned) {
      e.abort?.abort(
        new DOMException('abandoned: sluice serve stopped and its shutdown grace period ended', 'AbortError'),
      );
      this.log.warn(
        { schedule: e.spec.name, runningSince: e.runningSince?.toISOString(), graceMs },
        'scheduled run abandoned: still going when the shutdown grace period ended',
      );
    }
    return {
      finished: flying.filter((e) => !abandoned.includes(e)).map((e) => e.spec.name),
      abandoned: abandoned.map((e) => e.spec.name),
    };
  }

  private skip(entry: Entry): void {
    entry.counts.skipped += 1;
    this.metrics.runs.inc({ schedule: entry.spec.name, outcome: 'skipped' });
    this.log.warn(
      { schedule: entry.spec.name, runningSince: entry.runningSince?.toISOString() },
      'scheduled run skipped: the previous run of this schedule is still going',
    );
    this.updateNext(entry);
  }

  /** croner waits for this promise, so it calls skip() for ticks that come before it settles. */
  private tick(entry: Entry): Promise<void> {
    if (this.stopping || entry.inFlight) return Promise.resolve();
    entry.inFlight = this.runOnce(entry).finally(() => {
      entry.inFlight = undefined;
      entry.runningSince = undefined;
      entry.abort = undefined;
      this.metrics.running.set({ schedule: entry.spec.name }, 0);
      this.updateNext(entry);
    });
    return entry.inFlight;
  }

  private async runOnce(entry: Entry): Promise<void> {
    const { spec } = entry;
    const started = new Date();
    entry.runningSince = started;
    entry.abort = new AbortController();
    const signal = entry.abort.signal;
    const log = this.log.child({ schedule: spec.name });
    this.metrics.running.set({ schedule: spec.name }, 1);
    this.updateNext(entry);
    log.info({ mode: spec.mode, env: spec.config.env }, 'scheduled run started');
    let last: LastRun;
    try {
      const record = await this.inLane(spec, () =>
        this.run(spec, { signal, trigger: `schedule ${spec.name}` }),
      );
      last = {
        runId: record.id,
        outcome: record.success ? 'succeeded' : 'failed',
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - started.getTime(),
        ...(record.error
          ? { error: { code: record.error.code, message: maskSecretsInString(record.error.message) } }
          : {}),
      };
    } catch (error) {
      // Nothing could be recorded (the lake is unwritable, say): the log and the metrics say so.
      const e = toSluiceError(error);
      last = {
        runId: null,
        outcome: 'failed',
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - started.getTime(),
        error: { code: e.code, message: maskSecretsInString(e.message) },
      };
    }
    entry.lastRun = last;
    entry.counts[last.outcome] += 1;
    const seconds = last.durationMs / 1000;
    this.metrics.runs.inc({ schedule: spec.name, outcome: last.outcome });
    this.metrics.duration.observe({ schedule: spec.name }, seconds);
    this.metrics.lastRun.set({ schedule: spec.name }, Date.now() / 1000);
    if (last.outcome === 'succeeded') {
      this.metrics.lastSuccess.set({ schedule: spec.name }, Date.now() / 1000);
      log.info({ run: last.runId, seconds }, 'scheduled run succeeded');
    } else {
      log.error(
        { run: last.runId, seconds, code: last.error?.code, error: last.error?.message },
        last.runId
          ? 'scheduled run failed (recorded in the run history)'
          : 'scheduled run failed before it was recorded',
      );
    }
  }

  /** Runs `fn` after any run on the same lake and environment has ended. */
  private async inLane<T>(spec: ScheduledPipeline, fn: () => Promise<T>): Promise<T> {
    const key = `${spec.config.lakeRoot}\n${spec.config.env}`;
    const before = this.lanes.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const settled = mine.catch(() => {});
    this.lanes.set(key, settled);
    try {
      return await mine;
    } finally {
      if (this.lanes.get(key) === settled) this.lanes.delete(key);
    }
  }

  private updateNext(entry: Entry): void {
    const next = this.started && !this.stopping ? entry.cron.nextRun() : null;
    this.metrics.nextRun.set({ schedule: entry.spec.name }, next ? next.getTime() / 1000 : 0);
  }
}
