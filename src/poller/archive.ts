import { createHash } from 'node:crypto';
import type { SluiceError } from '../errors.ts';
import { GroupedLineageLog, outputUrl, type WrittenOutput, writtenText } from '../lineage/index.ts';
import { getLogger } from '../logging/logger.ts';
import { keysNotDeleted, preconditionFailed } from '../storage/conditions.ts';
import type { Storage } from '../storage/types.ts';
import { isReplaced, type Listed } from './replaced.ts';
import type { ResolvedLocation } from './source.ts';

/** What became of an object whose records were queued (see `Archiver.archive`). */
export type ArchiveOutcome = 'archived' | 'replaced';

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Moves handled objects to the processed or failed location, keeping their relative keys. Every
 * move is of the version read (its listed ETag, `ifMatch` on copy, delete or rename): a version
 * a producer wrote since is left where it is for the next poll, never archived or deleted unread
 * (the outcome is then `replaced`). Exact where the storage decides conditions (docs/poller.md).
 */
export class Archiver {
  private readonly source: ResolvedLocation;
  private readonly processed: ResolvedLocation;
  private readonly failedTo: ResolvedLocation;
  private readonly batchDeletes: boolean;
  /** Whether archives and failed objects get lineage records. */
  readonly lineage: boolean;
  private pendingDeletes: { key: string; etag: string; done: Deferred }[] = [];
  private deleteTimer: NodeJS.Timeout | undefined;
  /** One lineage log per target storage (undefined: lineage is off). */
  private readonly logs: Map<Storage, GroupedLineageLog> | undefined;

  constructor(
    source: ResolvedLocation,
    processed: ResolvedLocation,
    failedTo: ResolvedLocation,
    lineage = true,
  ) {
    this.logs = lineage ? new Map() : undefined;
    this.lineage = lineage;
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
   * Archives the listed version of `entry.key` under the processed location. `copied` is called
   * once the object is safe in the archive (the caller may start other work); the promise settles
   * when the source is gone: `archived`, or `replaced` when another version took the key first
   * (it stays; the version read may or may not be in the archive). A crash between the copy and
   * the delete leaves the object in both places; archiving it again is harmless.
   */
  async archive(
    entry: Listed & { size?: number; sha256?: string },
    copied: () => void,
  ): Promise<ArchiveOutcome> {
    const { key, etag } = entry;
    const dest = this.processed.prefix + this.relative(key);
    const record = await this.declare(this.processed, dest, 'poller.archive', entry);
    try {
      await this.alreadyMoved(this.processed, key, async () => {
        if (!this.batchDeletes) return this.moveTo(this.processed, entry);
        await this.source.storage.copy(key, dest, { ifMatch: etag });
        copied();
        await this.deleteLater(key, etag);
      });
      // Hashed as it was read; unread (queued before a crash) it is read back.
      await record?.commit(entry.sha256);
      return 'archived';
    } catch (error) {
      record?.abort(error);
      if (!(await isReplaced(this.source.storage, entry, error))) throw error;
    }
    getLogger().info(
      { key, etag },
      'replaced by a new version after its records were queued: marked done, the new version is left for the next poll',
    );
    return 'replaced';
  }

  /**
   * Writes `<key>.error.json` into the failed location, then moves the listed version beside it:
   * `failed`, or `replaced` when another version took the key first (it stays, unread, for the
   * next poll; the report is taken back).
   */
  async fail(entry: Listed & { size?: number }, err: SluiceError): Promise<'failed' | 'replaced'> {
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
    const reportText = `${JSON.stringify(report, null, 2)}\n`;
    const dest = this.failedTo.prefix + this.relative(entry.key);
    const [reportRecord, record] = await Promise.all([
      this.declare(this.failedTo, reportKey, 'poller.fail-report', entry),
      this.declare(this.failedTo, dest, 'poller.fail', entry),
    ]);
    try {
      await this.failedTo.storage.put(reportKey, reportText);
    } catch (error) {
      reportRecord?.abort(error);
      record?.abort(error);
      throw error;
    }
    await reportRecord?.commit(writtenText(reportText));
    try {
      await this.alreadyMoved(this.failedTo, entry.key, () => this.moveTo(this.failedTo, entry));
      await record?.commit();
      return 'failed';
    } catch (error) {
      record?.abort(error);
      if (!(await isReplaced(this.source.storage, entry, error))) throw error;
    }
    // The report is taken back: its delete is recorded (durably) before it goes.
    const log = this.logs?.get(this.failedTo.storage);
    log?.deleted(outputUrl(this.failedTo.storage, reportKey), 'poller.fail-report');
    await log?.flush().catch(() => {});
    await this.failedTo.storage.delete(reportKey).catch(() => {});
    getLogger().info(
      { key: entry.key, etag: entry.etag },
      'replaced by a new version before it could be moved to the failed prefix: the new version is left for the next poll',
    );
    return 'replaced';
  }

  /**
   * Declares (durably) the write of `key` in `target`, read from the listed version of `entry`;
   * the result commits it (with the sha256 of its bytes: given, else read back) or aborts it.
   */
  private async declare(
    target: ResolvedLocation,
    key: string,
    operation: string,
    entry: Listed & { size?: number },
  ): Promise<
    { commit: (written?: string | WrittenOutput) => Promise<void>; abort: (e: unknown) => void } | undefined
  > {
    if (!this.logs) return undefined;
    let log = this.logs.get(target.storage);
    if (!log) {
      log = new GroupedLineageLog(target.storage);
      this.logs.set(target.storage, log);
    }
    const url = outputUrl(target.storage, key);
    const input = {
      kind: 'object' as const,
      url: outputUrl(this.source.storage, entry.key),
      etag: entry.etag,
      ...(entry.size === undefined ? {} : { size: entry.size }),
    };
    const id = await log.begin({ output: url, operation, inputs: [input] });
    const done = log;
    return {
      commit: async (written) => {
        const out =
          typeof written === 'object'
            ? written
            : written !== undefined && entry.size !== undefined
              ? { sha256: written, size: entry.size }
              : await readBack(target.storage, key, entry.size);
        // Unread and not read back whole: the intent stays unconfirmed rather than name wrong bytes.
        if (out) done.commit(id, out);
      },
      abort: (error) => done.abort(id, error),
    };
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
      // Refused because another version holds the key: not moved, whatever the target holds.
      if ((error as SluiceError).code === 'E015') throw error;
      const gone = await this.source.storage.exists(key).then(
        (exists) => !exists,
        () => false,
      );
      if (!gone) throw error;
      const there = await target.storage.exists(target.prefix + this.relative(key)).catch(() => false);
      if (!there) throw error;
    }
  }

  /** Moves the listed version (E015 when another holds the key: it is not touched). */
  private async moveTo(target: ResolvedLocation, { key, etag }: Listed): Promise<void> {
    const dest = target.prefix + this.relative(key);
    if (target.storage === this.source.storage) {
      await this.source.storage.move(key, dest, { ifMatch: etag });
    } else {
      await target.storage.put(dest, await this.source.storage.getStream(key, { ifMatch: etag }));
      await this.source.storage.delete(key, { ifMatch: etag });
    }
  }

  /** Deletes the listed version with the next batch (E015 when another version holds the key). */
  private deleteLater(key: string, etag: string): Promise<void> {
    const done = deferred();
    this.pendingDeletes.push({ key, etag, done });
    if (this.pendingDeletes.length >= 100) void this.flushDeletes();
    else this.deleteTimer ??= setTimeout(() => void this.flushDeletes(), 50);
    return done.promise;
  }

  /**
   * flush() at the end of a listing, not waited for. A lineage write that fails (S3 throttling, a
   * reset) keeps its records for the next flush: counted in `errors` as `lineage` and logged,
   * never left an unhandled rejection (which ended the process).
   */
  endListing(errors: { inc(labels: { kind: string }): void }): void {
    this.flush().catch((error: unknown) => {
      errors.inc({ kind: 'lineage' });
      getLogger().warn(
        { err: String(error) },
        'lineage records not written yet; they go with the next listing',
      );
    });
  }

  /** Sends the pending batch of deletes now (end of a listing). */
  async flush(): Promise<void> {
    await this.flushDeletes();
    // The commits of what was archived since the last batch of intents.
    for (const log of this.logs?.values() ?? []) await log.flush();
  }

  private async flushDeletes(): Promise<void> {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    const batch = this.pendingDeletes;
    if (batch.length === 0) return;
    this.pendingDeletes = [];
    try {
      await this.source.storage.deleteMany(batch.map((b) => ({ key: b.key, ifMatch: b.etag })));
      for (const b of batch) b.done.resolve();
    } catch (error) {
      // Each key as the batch left it: deleted, refused by its ETag (another version holds it), failed.
      const left = keysNotDeleted(error);
      for (const b of batch) {
        if (left && !left.failed.includes(b.key)) b.done.resolve();
        else if (left?.refused.includes(b.key))
          b.done.reject(preconditionFailed(b.key, b.key, b.etag, undefined, error, 'delete'));
        else b.done.reject(error);
      }
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await this.source.storage.close();
    if (this.processed.storage !== this.source.storage) await this.processed.storage.close();
    if (this.failedTo.storage !== this.source.storage) await this.failedTo.storage.close();
  }
}

/**
 * The sha256 and size of an object moved without being read whole (a retry after a crash, a failed
 * parse), read back; undefined when that read fails or comes back short (a fault proves nothing).
 */
async function readBack(storage: Storage, key: string, size?: number): Promise<WrittenOutput | undefined> {
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of await storage.getStream(key)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    if (size !== undefined && bytes !== size) return undefined;
    return { sha256: hash.digest('hex'), size: bytes };
  } catch {
    return undefined;
  }
}
