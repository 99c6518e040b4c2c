/**
 * What a sync reports while it copies: bytes of the objects copied plus the bytes of the large
 * ones still on their way (their puts report as they stream), against the bytes the listing
 * promised: one event per object copied, and the chunks of large ones at a bounded rate.
 */
import { type ProgressFn, throttleProgress } from '../util/progress.ts';

export class SyncProgress {
  private copied = 0;
  private readonly inFlight = new Map<string, number>();
  private readonly report: ProgressFn | undefined;
  /** Chunks of streamed objects arrive many a second: those events are throttled. */
  private readonly reportChunk: ProgressFn | undefined;
  readonly total: number;

  constructor(onProgress: ProgressFn | undefined, total: number) {
    this.report = onProgress;
    this.reportChunk = throttleProgress(onProgress);
    this.total = total;
  }

  /** For CopyJob.onBytes; undefined without a listener, so puts report nothing. */
  get onBytes(): ((key: string, bytes: number) => void) | undefined {
    if (!this.reportChunk) return undefined;
    return (key, bytes) => {
      this.inFlight.set(key, bytes);
      this.emit(this.reportChunk);
    };
  }

  /** An object copied: one event each, as before chunks were counted (a copy bounds their rate). */
  copiedObject(key: string, size: number): void {
    this.inFlight.delete(key);
    this.copied += size;
    this.emit(this.report);
  }

  /** An object given up on (deferred): its partial bytes no longer count. */
  dropped(key: string): void {
    this.inFlight.delete(key);
  }

  /** The closing event: everything listed was handled. */
  finished(): void {
    this.report?.({ operation: 'sync', done: this.total, total: this.total, unit: 'bytes' });
  }

  emit(report = this.report): void {
    if (!report) return;
    let done = this.copied;
    for (const bytes of this.inFlight.values()) done += bytes;
    // An object that grew since it was listed must not end the bar before the sync ends.
    if (done >= this.total && this.total > 0) done = Math.max(0, this.total - 1);
    report({ operation: 'sync', done, total: this.total, unit: 'bytes' });
  }
}

/**
 * The compare tasks (objects of equal size whose sha256 must be read: a first sync, a cold
 * cache), each reporting when done: `compare`, in files. Unchanged when nobody listens.
 */
export function comparing(
  tasks: (() => Promise<void>)[],
  onProgress: ProgressFn | undefined,
): (() => Promise<void>)[] {
  const report = throttleProgress(onProgress);
  if (!report || tasks.length === 0) return tasks;
  const total = tasks.length;
  let done = 0;
  report({ operation: 'compare', done, total, unit: 'files' });
  return tasks.map((task) => async () => {
    await task();
    done += 1;
    report({ operation: 'compare', done, total, unit: 'files' });
  });
}
