import type { SluiceError } from '../errors.ts';
import type { ResolvedLocation } from './source.ts';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Moves handled objects to the processed or failed location, keeping their relative keys. */
export class Archiver {
  private readonly source: ResolvedLocation;
  private readonly processed: ResolvedLocation;
  private readonly failedTo: ResolvedLocation;
  private readonly batchDeletes: boolean;
  private pendingDeletes: { key: string; done: Deferred }[] = [];
  private deleteTimer: NodeJS.Timeout | undefined;

  constructor(source: ResolvedLocation, processed: ResolvedLocation, failedTo: ResolvedLocation) {
    this.source = source;
    this.processed = processed;
    this.failedTo = failedTo;
    // On S3, deleting in batches (one DeleteObjects per ≤100 objects) saves a request per object.
    this.batchDeletes = source.storage.kind === 's3' && processed.storage === source.storage;
  }

  /** Keys under an archive prefix in the watched storage are never work. */
  excluded(key: string): boolean {
    for (const t of [this.processed, this.failedTo]) {
      if (t.storage === this.source.storage && t.prefix !== '' && key.startsWith(t.prefix)) return true;
    }
    return false;
  }

  relative(key: string): string {
    return key.slice(this.source.prefix.length);
  }

  /**
   * Archives `key` under the processed location. `copied` is called once the object is safe in
   * the archive (the caller may start other work); the promise settles when the source is gone.
   * A crash between the two leaves the object in both places; archiving it again is harmless.
   */
  async archive(key: string, copied: () => void): Promise<void> {
    await this.alreadyMoved(this.processed, key, async () => {
      if (this.batchDeletes) {
        await this.source.storage.copy(key, this.processed.prefix + this.relative(key));
        copied();
        await this.deleteLater(key);
      } else {
        await this.moveTo(this.processed, key);
      }
    });
  }

  /** Writes `<key>.error.json` into the failed location, then moves the object beside it. */
  async fail(entry: { key: string; etag: string }, err: SluiceError): Promise<void> {
    const report = {
      code: err.code,
      message: err.message,
      key: entry.key,
      etag: entry.etag,
      line: err.context.line ?? null,
      row: err.context.row ?? null,
      recordsEnqueued: err.context.recordsEnqueued ?? 0,
      failedAt: new Date().toISOString(),
    };
    const reportKey = `${this.failedTo.prefix}${this.relative(entry.key)}.error.json`;
    await this.failedTo.storage.put(reportKey, `${JSON.stringify(report, null, 2)}\n`);
    await this.alreadyMoved(this.failedTo, entry.key, () => this.moveTo(this.failedTo, entry.key));
  }

  /**
   * Runs a move; when it fails but the source is gone and the target holds the object, it moved.
   * A delete can take effect and still report an error (a reset, a 5xx), and a retried move then
   * finds its source gone: the earlier attempt finished the job.
   */
  private async alreadyMoved(
    target: ResolvedLocation,
    key: string,
    move: () => Promise<void>,
  ): Promise<void> {
    try {
      await move();
    } catch (error) {
      const gone = await this.source.storage.exists(key).then(
        (exists) => !exists,
        () => false,
      );
      if (!gone) throw error;
      const there = await target.storage.exists(target.prefix + this.relative(key)).catch(() => false);
      if (!there) throw error;
    }
  }

  private async moveTo(target: ResolvedLocation, key: string): Promise<void> {
    const dest = target.prefix + this.relative(key);
    if (target.storage === this.source.storage) {
      await this.source.storage.move(key, dest);
    } else {
      await target.storage.put(dest, await this.source.storage.getStream(key));
      await this.source.storage.delete(key);
    }
  }

  private deleteLater(key: string): Promise<void> {
    const done = deferred();
    this.pendingDeletes.push({ key, done });
    if (this.pendingDeletes.length >= 100) void this.flush();
    else this.deleteTimer ??= setTimeout(() => void this.flush(), 50);
    return done.promise;
  }

  /** Sends the pending batch of deletes now (end of a listing). */
  async flush(): Promise<void> {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    const batch = this.pendingDeletes;
    if (batch.length === 0) return;
    this.pendingDeletes = [];
    try {
      await this.source.storage.deleteMany(batch.map((b) => b.key));
      for (const b of batch) b.done.resolve();
    } catch (error) {
      for (const b of batch) b.done.reject(error);
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await this.source.storage.close();
    if (this.processed.storage !== this.source.storage) await this.processed.storage.close();
    if (this.failedTo.storage !== this.source.storage) await this.failedTo.storage.close();
  }
}
