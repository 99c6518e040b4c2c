/**
 * Deferred flushing of lineage records that wait in memory (commits, aborts): a short unref'd
 * timer stores them if no intents come first to carry them, and a process that runs out of work
 * stores them before it ends (`beforeExit`). A kill or `process.exit()` before that leaves their
 * outputs `unconfirmed` in `verifyLineage`, which is not corruption.
 */

/** What a timer flushes: a log with records waiting. */
export interface Flushable {
  flush(): Promise<void>;
}

/** Timers with records waiting, flushed when the process runs out of work. */
const armed = new Set<FlushTimer>();
let exitHook = false;

function flushBeforeExit(): void {
  const timers = [...armed];
  // Each is tried once: a storage that fails here must not keep the process alive forever.
  armed.clear();
  for (const timer of timers) timer.fire();
}

export class FlushTimer {
  private readonly target: Flushable;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(target: Flushable, delayMs: number) {
    this.target = target;
    this.delayMs = delayMs;
  }

  /** Records wait: flush them within `delayMs` unless `disarm` comes first. */
  arm(): void {
    armed.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('beforeExit', flushBeforeExit);
    }
    if (this.timer) return;
    this.timer = setTimeout(() => this.fire(), this.delayMs);
    this.timer.unref();
  }

  /** Nothing waits any more (they were stored, or the owner flushes them itself). */
  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    armed.delete(this);
  }

  /** Flushes now; a failure leaves the records waiting for the next batch or flush. */
  fire(): void {
    this.disarm();
    void this.target.flush().catch(() => {});
  }
}
