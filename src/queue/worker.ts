import { getLogger } from '../logging/logger.ts';
import type { WorkerMetrics } from '../metrics/registry.ts';
import type { ConsumeOptions, JobHandler, JobQueue } from './types.ts';

export interface RunWorkerOptions {
  queue: JobQueue;
  handler: JobHandler;
  /** @default 1 */
  concurrency?: number;
  /** Exit once the queue is empty. @default false */
  drain?: boolean;
  signal?: AbortSignal;
  metrics?: WorkerMetrics;
}

export interface WorkerSummary {
  completed: number;
  retried: number;
  /** Runs that failed on their environment and wait to run again, no attempt used. */
  waited: number;
  dead: number;
}

/** Runs a handler over a queue, logging failures and counting outcomes. */
export async function runWorker(options: RunWorkerOptions): Promise<WorkerSummary> {
  const log = getLogger();
  const summary: WorkerSummary = { completed: 0, retried: 0, waited: 0, dead: 0 };
  const { metrics, handler } = options;
  const timed: JobHandler = metrics
    ? async (job) => {
        const end = metrics.duration.startTimer();
        try {
          await handler(job);
        } finally {
          end();
        }
      }
    : handler;
  const consume: ConsumeOptions = {
    concurrency: options.concurrency ?? 1,
    drain: options.drain ?? false,
    onJob: ({ job, outcome, error }) => {
      metrics?.jobs.inc({ outcome });
      if (outcome === 'completed') summary.completed++;
      else if (outcome === 'wait') {
        summary.waited++;
        log.warn(
          { jobId: job.id, attempt: job.attempt, err: String(error) },
          'job held up by its environment (disk, network, Redis): runs again later, no attempt used',
        );
      } else if (outcome === 'retry') {
        summary.retried++;
        log.warn({ jobId: job.id, attempt: job.attempt, err: String(error) }, 'job failed, will retry');
      } else {
        summary.dead++;
        log.error({ jobId: job.id, attempt: job.attempt, err: String(error) }, 'job dead-lettered');
      }
    },
  };
  if (options.signal) consume.signal = options.signal;
  await options.queue.consume(timed, consume);
  return summary;
}
