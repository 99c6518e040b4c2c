import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { SluiceError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { type ListedObject, VerifiedRead } from '../storage/verified-read.ts';
import { parseRecords } from './parse.ts';
import { RecordSpool } from './record-spool.ts';

/** The job id of one record: stable across restarts and pollers, so re-enqueueing is a no-op. */
export function recordJobId(scope: string, key: string, etag: string, n: number): string {
  return `r${createHash('sha256').update(`${scope}\n${key}\n${etag}\n${n}`).digest('hex').slice(0, 40)}`;
}

export interface ReadRecordsOptions {
  jsonArray: 'document' | 'records';
  /** Largest JSON document, JSONL line or CSV row; larger is E021 naming `limitName`. */
  maxRecordBytes: number;
  limitName: string;
  idleTimeoutMs: number;
  /** Records held in memory before the spool moves to a temp file. */
  memoryRecords: number;
  /** Set to the sha256 of the bytes read once the whole object is read (lineage records it). */
  digest?: { sha256?: string };
}

/** The body, hashed as it passes (an early stop or a fault ends the source too). */
async function* hashed(body: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * Reads a listed object whole, verified against the listing, and parses every record into a spool
 * (the caller closes it) before anything is enqueued. A read fault (short, broken, stalled body;
 * an object rewritten since it was listed) wins over whatever the parser made of the bytes: a
 * truncated body is transient, never a bad file. Another version than the listed one is
 * PreconditionFailedError (E015), before a byte is read.
 */
export async function readRecords(
  storage: Storage,
  listed: ListedObject,
  options: ReadRecordsOptions,
): Promise<RecordSpool> {
  // Only the listed version is read: one replaced since is refused at once (E015), and the next
  // listing reads it, rather than its records being queued under the listed ETag.
  const read = await VerifiedRead.open(storage, listed, {
    idleTimeoutMs: options.idleTimeoutMs,
    ifMatchListed: true,
  });
  const spool = new RecordSpool(options.memoryRecords);
  const hash = options.digest ? createHash('sha256') : undefined;
  const body = hash ? Readable.from(hashed(read.stream, hash), { objectMode: false }) : read.stream;
  try {
    try {
      for await (const rec of parseRecords(body, listed.key, {
        jsonArray: options.jsonArray,
        maxRecordBytes: options.maxRecordBytes,
        limitName: options.limitName,
      })) {
        await spool.add(rec.record);
      }
    } catch (error) {
      const fault = await read.fault();
      if (fault) throw fault;
      if (error instanceof SluiceError) error.context.recordsEnqueued = 0;
      throw error;
    }
    const fault = await read.fault();
    if (fault) throw fault;
    if (hash && options.digest) options.digest.sha256 = hash.digest('hex');
    return spool;
  } catch (error) {
    await spool.close();
    throw error;
  }
}
