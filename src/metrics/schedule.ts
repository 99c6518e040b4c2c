import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from './registry.ts';

/** Metrics of `sluice serve`'s scheduled pipeline runs, labelled by the schedule's name. */
export interface ScheduleMetrics {
  registry: Registry;
  /** Runs by outcome: succeeded, failed, and skipped (a tick that came while the last run still went). */
  runs: Counter<'schedule' | 'outcome'>;
  duration: Histogram<'schedule'>;
  lastRun: Gauge<'schedule'>;
  lastSuccess: Gauge<'schedule'>;
  nextRun: Gauge<'schedule'>;
  running: Gauge<'schedule'>;
}

/** `sluice_schedule_*` metrics, registered on `registry`. */
export function createScheduleMetrics(registry: Registry = createRegistry()): ScheduleMetrics {
  return {
    registry,
    runs: new Counter({
      name: 'sluice_schedule_runs_total',
      help: 'Scheduled pipeline runs by schedule and outcome (succeeded, failed, skipped: the previous run still went)',
      labelNames: ['schedule', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_schedule_run_duration_seconds',
      help: 'Time a scheduled pipeline run took, from its tick to its recorded end',
      labelNames: ['schedule'],
      buckets: [0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600],
      registers: [registry],
    }),
    lastRun: new Gauge({
      name: 'sluice_schedule_last_run_timestamp_seconds',
      help: 'When the last scheduled run of the schedule ended, whatever its outcome (Unix seconds)',
      labelNames: ['schedule'],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: 'sluice_schedule_last_success_timestamp_seconds',
      help: 'When the last successful scheduled run of the schedule ended (Unix seconds)',
      labelNames: ['schedule'],
      registers: [registry],
    }),
    nextRun: new Gauge({
      name: 'sluice_schedule_next_run_timestamp_seconds',
      help: 'When the schedule fires next (Unix seconds; 0 once stopped)',
      labelNames: ['schedule'],
      registers: [registry],
    }),
    running: new Gauge({
      name: 'sluice_schedule_running',
      help: 'Whether a run of the schedule is going now (1) or not (0)',
      labelNames: ['schedule'],
      registers: [registry],
    }),
  };
}
