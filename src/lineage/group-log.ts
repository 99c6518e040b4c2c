/**
 * Group commit for lineage records written by many concurrent callers on one storage (concurrent
 * ingest saves): intents and flushes asked for while a log object is being written wait, and go
 * out together in the next one, so 16 concurrent saves cost about one log object per round, not
 * 16. Each object is written by a fresh `LineageLog`, so nothing accumulates in memory however
 * long the process runs; commits and aborts wait here until an object holding them is stored.
 */
import type { Storage } from '../storage/types.ts';
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

  constructor(storage: Storage) {
    this.storage = storage;
  }

  begin(writes: readonly PlannedWrite[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ writes, resolve, reject });
      this.next();
    });
  }

  commit(id: string, output: WrittenOutput): void {
    this.ended.push((log) => log.commit(id, output));
  }

  abort(id: string, error: unknown): void {
    this.ended.push((log) => log.abort(id, error));
  }

  /** Resolves once every commit and abort made before it is stored. */
  async flush(): Promise<void> {
    await this.begin([]);
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
