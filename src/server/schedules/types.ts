/** What the scheduler runs and what it tells the API about its schedules. */
import type { Config } from '../../config/config.ts';
import type { PipelineMode, RunRecord } from '../../pipeline/index.ts';

/** A schedule with the pipeline configuration it runs (its env applied). */
export interface ScheduledPipeline {
  name: string;
  cron: string;
  timezone: string;
  mode: PipelineMode;
  config: Config;
}

/** Runs one scheduled run and answers its record (as written to the run history). */
export type RunScheduled = (
  schedule: ScheduledPipeline,
  options: { signal: AbortSignal; trigger: string },
) => Promise<RunRecord>;

export type ScheduleOutcome = 'succeeded' | 'failed' | 'skipped';

export interface LastRun {
  /** The run's id in the run history; null when it failed before a record could be written. */
  runId: string | null;
  outcome: 'succeeded' | 'failed';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  error?: { code: string; message: string };
}

export interface ScheduleStatus {
  name: string;
  cron: string;
  timezone: string;
  mode: PipelineMode;
  env: string;
  state: 'not started' | 'waiting' | 'running' | 'stopped';
  /** ISO time of the next tick; null before start and after stop. */
  nextRunAt: string | null;
  runningSince: string | null;
  lastRun: LastRun | null;
  /** Runs since the server started, by outcome (skipped: ticks that came during a run). */
  counts: Record<ScheduleOutcome, number>;
}

export interface ScheduleStopSummary {
  /** Schedules whose run in flight ended within the grace period. */
  finished: string[];
  /** Schedules whose run was still going when the grace period ended (aborted, not waited for). */
  abandoned: string[];
}
