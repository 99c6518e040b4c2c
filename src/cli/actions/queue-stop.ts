/**
 * How `sluice worker` and `sluice poll` connect and stop: Redis answering within the connect
 * timeout, the jobs or leases in flight when SIGINT/SIGTERM arrives, and the one line that says
 * what was kept.
 */
import type { PollerStateStore } from '../../poller/state.ts';
import type { JobHandler, JobQueue } from '../../queue/types.ts';
import { lazy } from '../lazy.ts';

const queueOpen = lazy(() => import('../../queue/open.ts'));
const redis = lazy(() => import('../../backends/redis.ts'));

/**
 * After the signal, the work in flight gets this long before the command lets go of it: a
 * worker's job (bullmq moves it back to waiting within 700 ms of its own), a poller's objects.
 */
export const WORKER_STOP_GRACE_MS = 1000;
export const POLL_STOP_GRACE_MS = 500;

/**
 * Start-up check of `sluice poll`: the queue (a bullmq queue connects on first use) and a Redis
 * poller state on another URL must answer within the connect timeout, or E060 names the URL.
 */
export async function checkRedisReachable(
  queue: JobQueue,
  stateSpec: string | undefined,
  queueUrl: string,
  options: { connectTimeoutMs: number; signal: AbortSignal },
): Promise<void> {
  if (queue.kind === 'bullmq') await queue.counts();
  if (stateSpec === undefined) return;
  const { parseQueueUrl } = await queueOpen();
  const state = parseQueueUrl(stateSpec);
  if (state.kind !== 'redis') return;
  const queueSide = parseQueueUrl(queueUrl);
  if (queueSide.kind === 'redis' && queueSide.url === state.url) return; // checked just above
  const { probeRedis } = await redis();
  await probeRedis(state.url, { ...options, purpose: 'Redis for poller state' });
}

const count = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * Resolves with `work`'s result, or with undefined once `signal` has been aborted for
 * `graceMs` and `work` is still running (its promise runs on; the caller lets go of it).
 */
export async function untilStopped<T>(
  work: Promise<T>,
  signal: AbortSignal,
  graceMs: number,
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const givenUp = new Promise<undefined>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve(undefined), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, givenUp]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    work.catch(() => {}); // let go of a late failure
  }
}

/** Counts the jobs a worker finishes and holds, for the line printed when it is stopped. */
export function trackJobs(handler: JobHandler): {
  handler: JobHandler;
  /** The queue took back the jobs still running (JobQueue.handBack). */
  handedBack: () => void;
  stopLine: (queue: JobQueue, leaseMs: number) => string;
} {
  let done = 0;
  let running = 0;
  let handedBack = false;
  return {
    handedBack: () => {
      handedBack = true;
    },
    handler: async (job) => {
      running++;
      try {
        await handler(job);
        done++;
      } finally {
        running--;
      }
    },
    stopLine: (queue, leaseMs) => {
      // bullmq moves unfinished jobs back to waiting at once; sqlite hands them back after the
      // grace, or, stopped at once (a second Ctrl-C), leaves them to their lease.
      const held =
        running === 0
          ? 'no job in flight'
          : queue.kind === 'bullmq' || handedBack
            ? `${count(running, 'job')} in flight returned to the queue`
            : `${count(running, 'job')} in flight will run again when ${running === 1 ? 'its lease ends' : 'their leases end'} (${leaseMs / 1000}s)`;
      return `${count(done, 'job')} done, ${held}`;
    },
  };
}

export interface LeaseTracker extends PollerStateStore {
  /** Gives back every lease still held (objects in flight), once; bounded to about a second. */
  releaseHeld(): Promise<void>;
  stopLine(): string;
}

/**
 * The poll command's queue: once stopped, enqueueing parks (never settles), so objects in flight
 * stop using CPU and Redis at their next batch; their leases are given back and the next poll
 * enqueues them again under the same job ids (no duplicates).
 */
export function parkAfterStop(queue: JobQueue, signal: AbortSignal): JobQueue {
  const parked = new Promise<never>(() => {});
  return {
    ...queue,
    kind: queue.kind,
    name: queue.name,
    add: (job) => (signal.aborted ? parked : queue.add(job)),
    addBulk: (jobs) => (signal.aborted ? parked : queue.addBulk(jobs)),
  };
}

/**
 * The poller's state store, counting the leases held and finished objects, so a stop can give
 * back the leases of objects in flight (another poller, or the next run, takes them at once).
 * Once stopped it claims nothing more.
 */
export function trackLeases(state: PollerStateStore, signal: AbortSignal): LeaseTracker {
  const held = new Map<string, { key: string; etag: string }>();
  const claiming = new Set<Promise<unknown>>();
  const id = (key: string, etag: string) => `${etag}\n${key}`;
  let finished = 0;
  let inFlightAtStop = 0;
  let released = 0;
  return {
    async claim(key, etag, leaseMs) {
      if (signal.aborted) return { claimed: false };
      const claim = state.claim(key, etag, leaseMs);
      claiming.add(claim);
      try {
        const result = await claim;
        if (result.claimed) held.set(id(key, etag), { key, etag });
        return result;
      } finally {
        claiming.delete(claim);
      }
    },
    renew: (key, etag, leaseMs) => state.renew(key, etag, leaseMs),
    async mark(key, etag, status) {
      await state.mark(key, etag, status);
      if (status !== 'enqueued' && held.delete(id(key, etag))) finished++;
    },
    async release(key, etag) {
      await state.release(key, etag);
      held.delete(id(key, etag));
    },
    async releaseHeld() {
      const deadline = Date.now() + 1000;
      // A claim sent just before the stop may still take its lease: wait for it first.
      await withDeadline(Promise.allSettled([...claiming]), deadline);
      const leases = [...held.values()];
      held.clear();
      inFlightAtStop += leases.length;
      const outcome = await withDeadline(
        Promise.allSettled(leases.map(({ key, etag }) => state.release(key, etag))),
        deadline,
      );
      released += outcome ? outcome.filter((r) => r.status === 'fulfilled').length : 0;
      // Leases not given back in time expire on their own (and a local restart takes them at once).
    },
    close: () => state.close(),
    stopLine: () => {
      const done = `${count(finished, 'object')} archived or failed`;
      if (inFlightAtStop === 0) return `${done}, no object in flight`;
      const inFlight = count(inFlightAtStop, 'object');
      return released === inFlightAtStop
        ? `${done}, leases of ${inFlight} in flight released (polled again next time)`
        : `${done}, ${inFlight} in flight: ${released} leases released, the rest expire on their own`;
    },
  };
}

/** `work`'s result, or undefined once `deadline` (epoch ms) has passed. */
async function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
