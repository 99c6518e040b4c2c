/**
 * A job that fails because of the moment, not its content — the store's disk is full, Redis or
 * the network is briefly gone, a lease or a database is busy (errors.ts classifyFailure says
 * `transient`) — waits and runs again **without using one of its attempts**, for as long as the
 * fault lasts: attempts are for failures whose cause is unknown, and a disk that is full for a
 * minute must not dead-letter every job that tried to run in that minute. The wait doubles from
 * the queue's backoff up to MOST_WAIT_MS; the job shows as delayed meanwhile.
 */
import { classifyFailure } from '../errors.ts';
import { isDiskFull } from '../os-errors.ts';
import { isPermanentJobError } from './types.ts';

/** Longest wait between two runs of a job held up by its environment. */
export const MOST_WAIT_MS = 30_000;

/** True when the job failed because of its environment (see the module comment). */
export function isEnvironmentFailure(error: unknown): boolean {
  if (isPermanentJobError(error)) return false;
  return isDiskFull(error) || classifyFailure(error) === 'transient';
}

/** How many times each job of this consumer has waited on its environment in a row. */
export class EnvironmentWaits {
  private readonly waits = new Map<string, number>();
  private readonly backoffMs: number;

  constructor(backoffMs: number) {
    this.backoffMs = backoffMs;
  }

  /** The wait before the job's next run, counting this one. */
  next(jobId: string): { waitMs: number; waits: number } {
    const waits = (this.waits.get(jobId) ?? 0) + 1;
    this.waits.set(jobId, waits);
    const waitMs = Math.min(Math.max(this.backoffMs, 1) * 2 ** Math.min(waits - 1, 20), MOST_WAIT_MS);
    return { waitMs, waits };
  }

  /** The job finished (completed, dead, or failed for a reason of its own). */
  forget(jobId: string): void {
    this.waits.delete(jobId);
  }
}
