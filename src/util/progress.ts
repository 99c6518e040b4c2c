/**
 * The one progress event every long operation reports (sync, promote, write, convert, ts import
 * and export, poll, upload, encrypt). Library code only emits these; the CLI draws them as bars
 * (`cli/progress.ts`) and the service can count them, so one shape serves every operation.
 */
export type ProgressUnit = 'bytes' | 'rows' | 'files' | 'objects' | 'points' | 'steps' | 'jobs';

export interface ProgressEvent<U extends ProgressUnit = ProgressUnit> {
  /** What is running: 'sync', 'promote', 'write', 'import', 'upload', … */
  operation: string;
  done: number;
  /** Known when the amount of work is known up front. */
  total?: number;
  unit: U;
  /** What is being worked on now (a file, a key), for operations that go through several. */
  detail?: string;
}

export type ProgressFn<U extends ProgressUnit = ProgressUnit> = (event: ProgressEvent<U>) => void;

/** The pipeline's name for the same event, kept for callers of the 0.1 API. */
export type PipelineProgress = ProgressEvent;

/**
 * How often, at most, a long operation reports by default: often enough for a live bar and a
 * rate, rare enough that reporting costs nothing measurable (a few calls a second).
 */
export const PROGRESS_INTERVAL_MS = 200;

/**
 * `fn` at a bounded rate: the first event, then at most one per `intervalMs`, and always an
 * event that completes its work (`done ≥ total`), so a bar ends at 100%. Undefined stays
 * undefined, so a caller without a listener does no work: `report?.(…)`.
 */
export function throttleProgress<U extends ProgressUnit>(
  fn: ProgressFn<U> | undefined,
  intervalMs = PROGRESS_INTERVAL_MS,
): ProgressFn<U> | undefined {
  if (!fn) return undefined;
  let last = Number.NEGATIVE_INFINITY;
  return (event) => {
    const now = performance.now();
    const finished = event.total !== undefined && event.done >= event.total;
    if (!finished && now - last < intervalMs) return;
    last = now;
    fn(event);
  };
}

export interface ProgressCounter {
  /** Counts `n` more (default 1); reports now and then, never more often than the throttle. */
  add(n?: number): void;
  /** Reports the final count as the total: the work is complete. */
  end(): void;
  readonly done: number;
}

/**
 * A count of work that passes one item at a time (points, rows), reported through `onProgress`
 * at a bounded rate. The clock is read once per `checkEvery` items, so a tight loop pays an
 * addition per item and nothing more.
 */
export function progressCounter<U extends ProgressUnit>(
  onProgress: ProgressFn<U> | undefined,
  operation: string,
  unit: U,
  checkEvery = 1000,
): ProgressCounter {
  const report = throttleProgress(onProgress);
  let done = 0;
  let sinceCheck = 0;
  return {
    add(n = 1) {
      done += n;
      sinceCheck += n;
      if (report && sinceCheck >= checkEvery) {
        sinceCheck = 0;
        report({ operation, done, unit });
      }
    },
    end() {
      report?.({ operation, done, total: done, unit });
    },
    get done() {
      return done;
    },
  };
}
