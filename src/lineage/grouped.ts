/**
 * A lineage log shared by many concurrent writes (a poller's objects, a store's appends): the
 * intents declared within one event-loop turn go out as one log object, so thirty-two objects
 * archived at once cost one small put, not thirty-two. `lineageEnabled` reads SLUICE_LINEAGE, the
 * switch the config's `lineage` setting also reads, for the parts of sluice that have no config.
 */
import type { Storage } from '../storage/types.ts';
import { LineageLog, type PlannedWrite, type WrittenOutput } from './log.ts';

/** SLUICE_LINEAGE (`0`, `false`, `off`, `no` turn it off); on when unset. */
export function lineageEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.SLUICE_LINEAGE?.trim().toLowerCase();
  return !(v === '0' || v === 'false' || v === 'off' || v === 'no');
}

/** Commits wait this long for a batch of intents to ride with before they are written alone. */
const COMMIT_WAIT_MS = 200;

interface Waiting {
  write: PlannedWrite;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

export class GroupedLineageLog {
  readonly log: LineageLog;
  private waiting: Waiting[] = [];
  private scheduled = false;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(storageOrLog: Storage | LineageLog, options: { session?: string } = {}) {
    this.log = storageOrLog instanceof LineageLog ? storageOrLog : new LineageLog(storageOrLog, options);
  }

  /** Makes the intent of `write` durable (with the others of this turn); resolves to its id. */
  begin(write: PlannedWrite): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ write, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.send());
    });
  }

  private async send(): Promise<void> {
    this.scheduled = false;
    const group = this.waiting;
    this.waiting = [];
    try {
      const ids = await this.log.begin(group.map((g) => g.write));
      for (const [i, g] of group.entries()) g.resolve(ids[i] as string);
    } catch (error) {
      for (const g of group) g.reject(error);
    }
  }

  /** Durable with the next batch of intents, or on its own within COMMIT_WAIT_MS. */
  commit(id: string, output: WrittenOutput): void {
    this.log.commit(id, output);
    this.soon();
  }

  abort(id: string, error: unknown): void {
    this.log.abort(id, error);
    this.soon();
  }

  private soon(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.log.flush().catch(() => {});
    }, COMMIT_WAIT_MS);
    this.flushTimer.unref();
  }

  deleted(output: string, operation: string): void {
    this.log.deleted(output, operation);
  }

  /** Runs one write under its record (intent grouped with this turn's others, then commit or abort). */
  async record<T>(
    write: PlannedWrite,
    run: () => Promise<T>,
    written: (result: T) => Promise<WrittenOutput>,
  ): Promise<T> {
    const id = await this.begin(write);
    let result: T;
    try {
      result = await run();
    } catch (error) {
      this.abort(id, error);
      throw error;
    }
    this.commit(id, await written(result));
    return result;
  }

  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    return this.log.flush();
  }
}
