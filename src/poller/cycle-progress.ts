/**
 * What one poll cycle reports: objects finished (archived, failed or deferred), against the
 * objects handed over once the listing has ended — so a cycle's tail has a total and a time left.
 * A cycle that finds nothing new reports nothing.
 */
import { type ProgressFn, throttleProgress } from '../util/progress.ts';

export class CycleProgress {
  private started = 0;
  private finished = 0;
  private listed = false;
  private readonly report: ProgressFn<'objects'> | undefined;

  constructor(onProgress: ProgressFn<'objects'> | undefined) {
    this.report = throttleProgress(onProgress);
  }

  /** An object handed to processing; `work` (returned as is) settles when it is finished. */
  track<T>(work: Promise<T>): Promise<T> {
    if (!this.report) return work;
    this.started += 1;
    const finish = () => {
      this.finished += 1;
      this.emit();
    };
    work.then(finish, finish);
    return work;
  }

  /** The listing has ended: every object of this cycle has been handed over. */
  listingEnded(): void {
    this.listed = true;
    if (this.started > 0) this.emit();
  }

  private emit(): void {
    this.report?.({
      operation: 'poll',
      done: this.finished,
      ...(this.listed ? { total: this.started } : {}),
      unit: 'objects',
    });
  }
}
