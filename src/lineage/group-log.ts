/**
 * Group commit for lineage records written by many concurrent callers on one storage (concurrent
 * ingest saves): intents and flushes asked for while a log object is being written wait, and go
 * out together in the next one, so 16 concurrent saves cost about one log object per round, not
 * 16. Each object is written by a fresh `LineageLog`, so nothing accumulates in memory however
 * long the process runs; commits and aborts wait here until an object holding them is stored.
 *
 * Commits are deferred: one is not stored on its own but rides with the next intents, or goes out
 * when a short timer (`commitDelayMs`, unref'd) fires, at `flush()`/`close()`, or when the process
 * runs out of work (`beforeExit`). The promise holds — an intent is durable before its output is
 * visible — and a crash before the commit is stored leaves the output `unconfirmed` in
 * `verifyLineage`, which is not corruption.
 */
import { ValidationError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { FlushTimer } from './flush-timer.ts';
import { LineageLog, type PlannedWrite, type WrittenOutput } from './log.ts';

/** What writes lineage records: a `LineageLog`, or a `GroupLog` shared by concurrent callers. */
export interface IntentLog {
  /** Records the intents of `writes` durably (with any records waiting); returns their ids in order. */
  begin(writes: readonly PlannedWrite[]): Promise<string[]>;
  commit(id: string, output: WrittenOutput): void;
  abort(id: string, error: unknown): void;
  /** Makes every waiting record durable. */
  flush(): Promise<void>;
}

export interface GroupLogOptions {
  /**
   * How long a commit or abort may wait for the next intents before it is stored on its own (ms).
   * @default 1000
   */
  commitDelayMs?: number;
}

interface Waiting {
  writes: readonly PlannedWrite[];
  resolve: (ids: string[]) => void;
  reject: (error: unknown) => void;
}

export class GroupLog implements IntentLog {
  private readonly storage: Storage;
  /** Commits and aborts not yet in a stored object, in the order they were made. */
  private ended: ((log: LineageLog) => void)[] = [];
  /** Intents and flushes (no writes) waiting for the next object. */
  private waiting: Waiting[] = [];
  private running = false;
  private readonly timer: FlushTimer;

  constructor(storage: Storage, options: GroupLogOptions = {}) {
    const delay = options.commitDelayMs ?? 1000;
    if (!Number.isFinite(delay) || delay < 0)
      throw new ValidationError(`commitDelayMs must be a number ≥ 0, got ${delay}`, {
        context: { commitDelayMs: delay },
      });
    this.storage = storage;
    this.timer = new FlushTimer(this, delay);
  }

  begin(writes: readonly PlannedWrite[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ writes, resolve, reject });
      this.next();
    });
  }

  /** The output of `id` is written: stored with the next intents, or within `commitDelayMs`. */
  commit(id: string, output: WrittenOutput): void {
    this.ended.push((log) => log.commit(id, output));
    this.timer.arm();
  }

  abort(id: string, error: unknown): void {
    this.ended.push((log) => log.abort(id, error));
    this.timer.arm();
  }

  /** Resolves once every commit and abort made before it is stored. */
  async flush(): Promise<void> {
    await this.begin([]);
  }

  /** Stores every waiting record and stops the timer; safe to call twice. */
  async close(): Promise<void> {
    this.timer.disarm();
    await this.flush();
  }

  /** Writes the next object unless one is in flight (its end starts the next). */
  private next(): void {
    if (this.running || this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    // Nothing to store: the records of flushes waiting here went out in the object just written.
    if (this.ended.length === 0 && batch.every((w) => w.writes.length === 0)) {
      for (const w of batch) w.resolve([]);
      return;
    }
    this.running = true;
    void this.writeOne(batch).finally(() => {
      this.running = false;
      this.next();
    });
  }

  /** One log object: every waiting commit and abort, then the intents of `batch`. */
  private async writeOne(batch: Waiting[]): Promise<void> {
    const log = new LineageLog(this.storage);
    const ended = this.ended;
    this.ended = [];
    if (ended.length > 0) this.timer.disarm();
    for (const apply of ended) apply(log);
    try {
      const ids = await log.begin(batch.flatMap((w) => w.writes));
      let at = 0;
      for (const w of batch) {
        w.resolve(ids.slice(at, at + w.writes.length));
        at += w.writes.length;
      }
    } catch (error) {
      // Not stored: the commits wait for the next object; the intents' callers write nothing.
      this.ended = [...ended, ...this.ended];
      for (const w of batch) w.reject(error);
    }
  }
}
