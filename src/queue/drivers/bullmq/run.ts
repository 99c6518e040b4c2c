/**
 * How a BullMQ consumer runs and stops (bullmq.ts's consume()): waiting for its stop signal or
 * for the queue to drain, and giving the jobs in flight back when it stops.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job as BullJob, Worker } from 'bullmq';
import type { ConsumeOptions } from '../../types.ts';

/** `promise`, or a rejection as soon as `signal` aborts (the promise itself runs on). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export interface RunState {
  inFlight: Map<string, { job: BullJob; token: string | undefined }>;
  /** Jobs moved back to waiting while their handler ran; their outcome is not reported. */
  released: Set<string>;
  stopping: boolean;
}

/** Resolves when the signal aborts or, with `drain`, once nothing is waiting, delayed or active. */
export function untilStopped(
  opts: ConsumeOptions & { signal: AbortSignal },
  counts: () => Promise<{ waiting: number; delayed: number; active: number }>,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', stop);
      resolve();
    };
    opts.signal.addEventListener('abort', stop, { once: true });
    if (opts.signal.aborted) return stop();
    if (!opts.drain) return;
    const tick = async () => {
      try {
        const c = await counts();
        if (c.waiting + c.delayed + c.active === 0) return stop();
      } catch {
        // Retry at the next tick.
      }
      if (!opts.signal.aborted) timer = setTimeout(tick, 100);
    };
    timer = setTimeout(tick, 50);
  });
}

/**
 * Stops taking jobs; jobs in flight get `graceMs` to finish, then go back to waiting with their
 * lock token (no job waits for its lock to expire), and the worker closes without waiting for
 * their handlers. Bounded even when Redis is gone: closing gets one more second.
 */
export async function stopWorker(worker: Worker, run: RunState, graceMs: number): Promise<void> {
  run.stopping = true;
  await worker.pause(true).catch(() => {});
  const deadline = Date.now() + graceMs;
  while (run.inFlight.size > 0 && Date.now() < deadline) await sleep(20);
  const left = [...run.inFlight.values()];
  for (const { job } of left) run.released.add(String(job.id));
  await Promise.allSettled(left.map(({ job, token }) => job.moveToWait(token)));
  await Promise.race([worker.close(left.length > 0).catch(() => {}), sleep(1000)]);
}
