/** The object version a job's record was read from (the poller sets it; lineage records it). */
export interface JobSource {
  /** The object's URL (`s3://bucket/key`, `file:///dir/key`). */
  url: string;
  etag: string;
  size?: number;
}

/** A job as a handler sees it. `attempt` starts at 1. */
export interface Job<T = unknown> {
  id: string;
  name: string;
  data: T;
  attempt: number;
  source?: JobSource;
}

/** A job to enqueue. Adding an id that already exists (in any state) is a no-op. */
export interface JobToAdd {
  id: string;
  name: string;
  data: unknown;
  source?: JobSource;
}

export type JobHandler = (job: Job) => Promise<void>;

export type JobOutcome = 'completed' | 'retry' | 'wait' | 'dead';

/** Counts per state. `failed` is BullMQ's name for `dead`; both are reported, always equal. */
export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  dead: number;
}

export interface DeadJob {
  id: string;
  name: string;
  data: unknown;
  attempts: number;
  error: string;
}

export interface ConsumeOptions {
  /** Jobs run at once. @default 1 */
  concurrency?: number;
  /** Resolve once nothing is waiting, delayed or active (instead of running until aborted). @default false */
  drain?: boolean;
  /** Stop taking jobs; jobs in flight finish, then consume() resolves. */
  signal?: AbortSignal;
  /**
   * Called after each job: `completed`, `retry` (will run again; the attempt counted), `wait`
   * (failed because of its environment — a full disk, Redis or the network gone — and runs again
   * without using an attempt: environment-wait.ts) or `dead`.
   */
  onJob?: (event: { job: Job; outcome: JobOutcome; error?: unknown }) => void;
}

export interface QueueOptions {
  /** Queue name; several queues can share one database or Redis. @default 'sluice' */
  name?: string;
  /** Tries per job before it is dead-lettered. @default 5 */
  attempts?: number;
  /** First retry delay; doubles each attempt (exponential backoff). @default 1000 */
  backoffMs?: number;
}

/** A durable job queue: SQLite (embedded) or BullMQ (Redis) behind one contract. */
export interface JobQueue {
  readonly kind: 'sqlite' | 'bullmq';
  readonly name: string;
  /** Returns true when the job was new. */
  add(job: JobToAdd): Promise<boolean>;
  /** Returns how many were new (ids already present are skipped). */
  addBulk(jobs: readonly JobToAdd[]): Promise<number>;
  /** Runs `handler` on jobs until `signal` aborts or, with `drain`, the queue is empty. */
  consume(handler: JobHandler, options?: ConsumeOptions): Promise<void>;
  counts(): Promise<QueueCounts>;
  /** Jobs not yet finished: waiting + delayed + active. */
  backlog(): Promise<number>;
  listDead(limit?: number): Promise<DeadJob[]>;
  /** Moves dead jobs (all, or the given ids) back to waiting with a fresh attempt count. */
  retryDead(ids?: readonly string[]): Promise<number>;
  /** Deletes dead jobs; returns how many. */
  purgeDead(): Promise<number>;
  /**
   * Deletes completed jobs that finished more than `olderThanMs` ago; returns how many. Completed
   * jobs are kept so that adding the same id again is a no-op: after pruning, an id older than
   * the cut-off can be added (and run) again, so the retention is the deduplication window.
   */
  pruneCompleted(olderThanMs: number): Promise<number>;
  /**
   * Gives the jobs this queue object's consumer holds and has not finished back to waiting, not
   * counted as an attempt, so a worker that stops before its jobs finish does not leave them to
   * their lease; returns how many. Their handlers' late outcomes are then ignored. Only the
   * SQLite queue has it: BullMQ moves a closing worker's jobs back by itself.
   */
  handBack?(): Promise<number>;
  close(): Promise<void>;
}

/** Thrown by a handler to dead-letter a job at once (no retries), e.g. an invalid payload. */
export function isPermanentJobError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'E062' || (error as { permanent?: unknown } | null)?.permanent === true;
}

export function backoffFor(attempt: number, baseMs: number): number {
  return baseMs * 2 ** Math.max(0, attempt - 1);
}

export function emptyCounts(): QueueCounts {
  return { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, dead: 0 };
}
