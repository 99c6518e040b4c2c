import { z } from 'zod';
import { JobPayloadError } from '../errors.ts';
import type { LineageInput } from '../lineage/record.ts';
import type { Job, JobHandler } from '../queue/types.ts';

/**
 * The slice of the time-series store this handler needs (implemented by `TimeSeriesStore`);
 * kept small so the queue does not depend on the store's internals.
 */
export interface SignalStore {
  storeDataPoint(
    variable: string,
    timestamp: Date | string | number | bigint,
    value: number,
    metadata?: Record<string, unknown>,
    options?: { source?: readonly LineageInput[] },
  ): unknown;
}

const numeric = z.union([
  z.number(),
  z
    .string()
    .trim()
    .min(1)
    .transform((s, ctx) => {
      const n = Number(s);
      if (!Number.isFinite(n)) ctx.addIssue({ code: 'custom', message: `"${s}" is not a number` });
      return n;
    }),
]);

/** The seed task's payload: `{name, value, source='celery', timestamp?}`; CSV rows arrive as strings. */
export const SignalPayloadSchema = z.object({
  name: z.string().trim().min(1, 'name must be a non-empty string'),
  value: numeric.refine((n) => Number.isFinite(n), 'value must be a finite number'),
  source: z.string().min(1).optional().default('celery'),
  timestamp: z.union([z.string().min(1), z.number()]).optional(),
});

export type SignalPayload = z.output<typeof SignalPayloadSchema>;

/** Validates a job payload; throws JobPayloadError (dead-letters at once) naming the job and field. */
export function parseSignalPayload(job: Pick<Job, 'id' | 'data'>): SignalPayload {
  const parsed = SignalPayloadSchema.safeParse(job.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(payload)';
    throw new JobPayloadError(
      `Job ${job.id}: invalid ingest_and_score_signal payload, ${field}: ${issue?.message ?? 'invalid'}`,
      { context: { jobId: job.id, field } },
    );
  }
  if (parsed.data.timestamp !== undefined && Number.isNaN(new Date(parsed.data.timestamp).getTime())) {
    throw new JobPayloadError(
      `Job ${job.id}: timestamp ${JSON.stringify(parsed.data.timestamp)} is not a date`,
      {
        context: { jobId: job.id, field: 'timestamp' },
      },
    );
  }
  return parsed.data;
}

let lastMicros = 0n;

/**
 * Now, in microseconds, strictly increasing within the process: points without a timestamp that
 * arrive in the same millisecond must not overwrite each other (one point per variable and time).
 */
export function monotonicNowMicros(): bigint {
  const micros = BigInt(Date.now()) * 1000n;
  lastMicros = micros > lastMicros ? micros : lastMicros + 1n;
  return lastMicros;
}

/** The built-in `ingest_and_score_signal` handler: validate, then store one point (with its source object). */
export function createIngestAndScoreHandler(
  store: SignalStore,
  now: () => Date | bigint = monotonicNowMicros,
): JobHandler {
  return async (job) => {
    const p = parseSignalPayload(job);
    // Given timestamps go to the store as they are: it parses ISO strings to the microsecond.
    const ts = p.timestamp === undefined ? now() : p.timestamp;
    try {
      // The object version the job was read from is the point's source in the segment's lineage.
      const source = job.source ? { source: [{ kind: 'object' as const, ...job.source }] } : undefined;
      await store.storeDataPoint(p.name, ts, p.value, { source: p.source, job_id: job.id }, source);
    } catch (error) {
      // A point the store rejects as invalid will never succeed: dead-letter it; anything else retries.
      if ((error as { code?: unknown }).code === 'E051') {
        throw new JobPayloadError(`Job ${job.id}: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  };
}
