/**
 * Reads one listed object and proves the bytes are that object, whole. A body that ends short or
 * breaks, stalls, or belongs to another version than the listing's is a read fault: transient,
 * whatever a reader made of the bytes, so the object is read again (the poller: instead of going
 * to failed/; sync: instead of writing a truncated or mixed file).
 */
import { Readable } from 'node:stream';
import { isTransient, NetworkError, type SluiceError, StorageError, TimeoutError } from '../errors.ts';
import type { Storage } from './types.ts';

/**
 * What a driver may attach to a body it returns: the response's own length and ETag (the S3
 * driver does, from GetObject's headers). Drivers without it are checked by a stat after the read.
 */
export const RESPONSE_INFO = Symbol.for('sluice.storage.responseInfo');
export interface ResponseInfo {
  size?: number;
  etag?: string;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

/**
 * `changed`: the object is not the listed version (rewritten, grown, gone), so only a new
 * listing can read it; `truncated`, `broken`, `stalled`: the transfer failed, a retry may not.
 */
export type ReadFault = 'changed' | 'truncated' | 'broken' | 'stalled';

/** The read fault an error stands for, if it is one. */
export function readFaultOf(error: unknown): ReadFault | undefined {
  const fault = (error as SluiceError | undefined)?.context?.readFault;
  return typeof fault === 'string' ? (fault as ReadFault) : undefined;
}

export interface VerifiedReadOptions {
  /** A read that receives nothing for this long is `stalled`. */
  idleTimeoutMs: number;
  /**
   * Read with `ifMatch` the listed ETag: another version is refused when the read opens (E015,
   * thrown by `open`) instead of being read and found `changed` afterwards. @default false
   */
  ifMatchListed?: boolean;
  signal?: AbortSignal;
}

function urlOf(storage: Storage, key: string): string {
  return `${storage.url}${storage.url.endsWith('/') ? '' : '/'}${key}`;
}

/** The `changed` read fault: `key` is not the listed version any more (rewritten, grown, gone). */
export function changedSinceListed(storage: Storage, key: string, why: string): SluiceError {
  return new StorageError(`${urlOf(storage, key)} changed since it was listed: ${why}`, {
    context: { key, readFault: 'changed', retryable: true },
  });
}

/** A reset says so (Node's message for a reset response body is a bare "aborted"). */
function whyBroken(cause: unknown): string {
  const { code, message } = cause as { code?: unknown; message?: unknown };
  if (code === 'ECONNRESET' || code === 'EPIPE') return `connection reset (${code})`;
  return String(message ?? cause);
}

export class VerifiedRead {
  /** The body, counted and checked against the listing; it errors with the fault when one occurs. */
  readonly stream: Readable;
  bytes = 0;
  private stopped = false;
  private faultSeen: SluiceError | undefined;
  private readonly storage: Storage;
  private readonly listed: ListedObject;
  private readonly checkedByServer: boolean;

  private constructor(storage: Storage, listed: ListedObject, body: Readable, options: VerifiedReadOptions) {
    this.storage = storage;
    this.listed = listed;
    const info = (body as Readable & { [RESPONSE_INFO]?: ResponseInfo })[RESPONSE_INFO];
    this.checkedByServer = info !== undefined;
    if (info?.etag && info.etag !== listed.etag) {
      this.fail(this.changed(`its ETag is now ${info.etag}, listed as ${listed.etag}`));
    } else if (info?.size !== undefined && info.size !== listed.size) {
      this.fail(this.changed(`its length is now ${info.size} bytes, listed as ${listed.size}`));
    }
    this.stream = Readable.from(this.verified(body, options.idleTimeoutMs), { objectMode: false });
    // A reader that stops early (a parse error) ends the transfer at once: destroying the body
    // settles a pending read, so the generator can return; what the transfer does after that is
    // no fault of the object.
    const destroy = this.stream._destroy;
    this.stream._destroy = (error, callback) => {
      this.stopped = true;
      body.destroy();
      destroy.call(this.stream, error, callback);
    };
  }

  /** Opens `listed.key` for a verified read. */
  static async open(
    storage: Storage,
    listed: ListedObject,
    options: VerifiedReadOptions,
  ): Promise<VerifiedRead> {
    const body = await storage.getStream(listed.key, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.ifMatchListed ? { ifMatch: listed.etag } : {}),
    });
    return new VerifiedRead(storage, listed, body, options);
  }

  /**
   * After the reader finished or failed: the read fault, if any. Where the server gave no ETag
   * and length (local files), a stat compares the object with the listing, so a file rewritten
   * during the read counts as changed (only the next listing can read it) even when its bytes
   * happened to parse, and a short read of a file that shrank is not taken for a broken transfer.
   */
  async fault(): Promise<SluiceError | undefined> {
    if (this.checkedByServer) return this.faultSeen;
    let changed: SluiceError | undefined;
    try {
      const now = await this.storage.stat(this.listed.key);
      if (now.etag !== this.listed.etag || now.size !== this.listed.size) {
        changed = this.changed(
          `it was rewritten while it was read (${now.size} bytes now, ${this.listed.size} listed)`,
        );
      }
    } catch (error) {
      if ((error as SluiceError).code === 'E011') changed = this.changed('it was removed while it was read');
      else
        return this.fail(
          new StorageError(`${this.where()}: cannot check it after reading: ${(error as Error).message}`, {
            cause: error,
            context: { key: this.listed.key, readFault: 'broken', retryable: isTransient(error) },
          }),
        );
    }
    if (changed && readFaultOf(this.faultSeen) !== 'changed') this.faultSeen = changed;
    return this.faultSeen;
  }

  private async *verified(body: Readable, idleTimeoutMs: number): AsyncGenerator<Buffer> {
    if (this.faultSeen) throw this.faultSeen;
    const chunks = body[Symbol.asyncIterator]();
    const stalled = Symbol('stalled');
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        let next: IteratorResult<Buffer> | typeof stalled;
        try {
          // The clock runs only while the reader waits for bytes, not while it is busy parsing.
          next = await Promise.race([
            chunks.next(),
            new Promise<typeof stalled>((resolve) => {
              timer = setTimeout(() => resolve(stalled), idleTimeoutMs);
            }),
          ]);
        } catch (error) {
          if (this.stopped) throw error;
          throw this.fail(this.broken(error));
        } finally {
          clearTimeout(timer);
        }
        if (next === stalled) {
          if (this.stopped) return;
          throw this.fail(
            new TimeoutError(
              `${this.where()}: no data for ${idleTimeoutMs} ms after ${this.bytes} of ${this.listed.size} bytes`,
              { context: { key: this.listed.key, readFault: 'stalled', bytes: this.bytes } },
            ),
          );
        }
        if (next.done) break;
        this.bytes += next.value.length;
        if (this.bytes > this.listed.size) {
          throw this.fail(this.changed(`more than the ${this.listed.size} bytes listed arrived`));
        }
        yield next.value;
      }
    } finally {
      body.destroy();
    }
    if (this.stopped) return;
    if (this.bytes < this.listed.size) {
      throw this.fail(
        new NetworkError(
          `${this.where()}: the body ended after ${this.bytes} of ${this.listed.size} bytes (truncated)`,
          { context: { key: this.listed.key, readFault: 'truncated', bytes: this.bytes, retryable: true } },
        ),
      );
    }
  }

  private fail(error: SluiceError): SluiceError {
    this.faultSeen ??= error;
    return this.faultSeen;
  }

  private where(): string {
    return urlOf(this.storage, this.listed.key);
  }

  private changed(why: string): SluiceError {
    return changedSinceListed(this.storage, this.listed.key, why);
  }

  private broken(cause: unknown): SluiceError {
    return new NetworkError(
      `${this.where()}: the read broke after ${this.bytes} of ${this.listed.size} bytes: ${whyBroken(cause)}`,
      // A body that breaks says nothing about the content; a non-network cause (EIO) is not retried now.
      {
        cause,
        context: {
          key: this.listed.key,
          readFault: 'broken',
          bytes: this.bytes,
          retryable: isTransient(cause),
        },
      },
    );
  }
}
