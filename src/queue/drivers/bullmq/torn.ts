/**
 * Job data in Redis that is not JSON (written by something other than sluice, or torn). BullMQ's
 * worker throws parsing it and leaves the job active: `worker --drain` never ended, no error
 * named the job, and `queue dead` (which parses every dead job) failed on it. Here such a job
 * reaches the processor as a marker and is dead-lettered at once (E062, naming the job), as the
 * SQLite queue does with a row it cannot read; the dead list reads each job on its own.
 */
import type { Job as BullJob, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobPayloadError } from '../../../errors.ts';
import { maskSecretsInString } from '../../../secrets/mask.ts';
import type { DeadJob } from '../../types.ts';

const TORN = '__sluiceUnreadableData';

type WorkerClass = typeof Worker;

/** `Worker` whose jobs with unreadable data reach the processor as a marker (see tornDataError). */
export function readingWorker(Base: WorkerClass): WorkerClass {
  class ReadingWorker extends Base {
    protected override createJob(raw: Parameters<Worker['createJob']>[0], jobId: string) {
      try {
        return super.createJob(raw, jobId);
      } catch (error) {
        const reason = `its data in Redis is not valid JSON (${(error as Error).message})`;
        return super.createJob({ ...raw, data: JSON.stringify({ [TORN]: reason }) }, jobId);
      }
    }
  }
  return ReadingWorker as unknown as WorkerClass;
}

/** The E062 error for a job whose data could not be read, or undefined for a readable one. */
export function tornDataError(
  jobId: string,
  data: unknown,
): InstanceType<typeof JobPayloadError> | undefined {
  if (data === null || typeof data !== 'object' || !(TORN in data)) return undefined;
  // The parser's message quotes the text, which may hold a token: masked like any stored error.
  return new JobPayloadError(
    maskSecretsInString(`Job ${jobId}: ${String((data as Record<string, unknown>)[TORN])}`),
    { context: { jobId } },
  );
}

/** The first `limit` dead jobs, each read on its own: one unreadable job does not hide the rest. */
export async function readDeadJobs(
  queue: Queue,
  connection: Redis,
  limit: number,
  unwrap: (stored: unknown) => unknown,
): Promise<DeadJob[]> {
  const ids = await queue.getRanges(['failed'], 0, limit - 1, false);
  // One round of requests for the page, as getFailed made, each job read on its own.
  const read = await Promise.all(
    ids.map(async (id): Promise<DeadJob | undefined> => {
      let job: BullJob | undefined;
      try {
        job = await queue.getJob(id);
      } catch (error) {
        const raw = await connection.hgetall(queue.toKey(id));
        return {
          id,
          name: raw.name ?? '',
          data: null,
          attempts: Number(raw.atm ?? 0),
          error: maskSecretsInString(
            raw.failedReason || `its data in Redis is not valid JSON (${(error as Error).message})`,
          ),
        };
      }
      if (!job) return undefined;
      return {
        id,
        name: job.name,
        data: unwrap(job.data),
        attempts: job.attemptsMade,
        error: job.failedReason ?? '',
      };
    }),
  );
  return read.filter((d) => d !== undefined);
}
