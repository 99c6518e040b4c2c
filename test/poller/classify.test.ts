/**
 * One failure classification (errors.ts classifyFailure) and the verified read that turns a body
 * that did not arrive whole into a transient fault, whatever a parser made of its bytes.
 */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  classifyFailure,
  FormatError,
  isTransient,
  NetworkError,
  NotFoundError,
  PollerError,
  TimeoutError,
  toSluiceError,
  ValidationError,
} from '../../src/errors.ts';
import { parseRecords } from '../../src/poller/parse.ts';
import { retryNow } from '../../src/poller/transient.ts';
import { mapS3Error } from '../../src/storage/drivers/s3/errors.ts';
import type { Storage } from '../../src/storage/types.ts';
import {
  type ListedObject,
  RESPONSE_INFO,
  readFaultOf,
  VerifiedRead,
} from '../../src/storage/verified-read.ts';
import { isGetObject } from '../helpers/fault-proxy.ts';

const os = (code: string, message = code) => Object.assign(new Error(message), { code });
const aws = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('classifyFailure', () => {
  it.each([
    ['connection reset', os('ECONNRESET', 'read ECONNRESET')],
    ['connection refused', os('ECONNREFUSED')],
    ['socket hang up', new Error('socket hang up')],
    ['a body that closed early', os('ERR_STREAM_PREMATURE_CLOSE')],
    ['timeout', os('ETIMEDOUT')],
    ['NetworkError', new NetworkError('down')],
    ['TimeoutError', new TimeoutError('slow')],
    ['503 SlowDown', aws('SlowDown', 503)],
    ['429', aws('TooManyRequests', 429)],
    ['throttling sent as a 400', aws('ThrottlingException', 400)],
    ['500 InternalError', aws('InternalError', 500)],
    ['502 with no name', aws('Error', 502)],
    ['S3 503 as the driver maps it', mapS3Error(aws('SlowDown', 503), 'b', 'k', 'read')],
    ['S3 500 as the driver maps it', mapS3Error(aws('InternalError', 500), 'b', 'k', 'read')],
    ['SQLite busy', Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 })],
    [
      'SQLite busy (extended code)',
      Object.assign(new Error('x'), { code: 'ERR_SQLITE_ERROR', errcode: 261 }),
    ],
    ['Redis BUSY', new Error('BUSY Redis is busy running a script. You can only call SCRIPT KILL')],
    ['Redis LOADING', new Error('LOADING Redis is loading the dataset in memory')],
    ['ioredis closed', new Error('Connection is closed.')],
    ['a state store marked retryable', new PollerError('claim failed', { context: { retryable: true } })],
    ['a raw reset wrapped by toSluiceError', toSluiceError(os('ECONNRESET'), 'E061')],
    ['a reset two causes deep', new Error('outer', { cause: new Error('mid', { cause: os('ECONNRESET') }) })],
  ])('transient: %s', (_, error) => {
    expect(classifyFailure(error)).toBe('transient');
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['a format error', new FormatError('k.csv: bad row')],
    // The content's verdict is final; whether the bytes arrived whole is the verified read's question.
    ['a format error caused by a reset', new FormatError('k.json: cut', { cause: os('ECONNRESET') })],
    [
      'a size limit',
      new PollerError('too large', { context: { limit: 'maxObjectBytes', retryable: false } }),
    ],
    ['403', aws('AccessDenied', 403)],
    ['404', aws('NoSuchKey', 404)],
    ['400', aws('InvalidArgument', 400)],
    ['S3 403 as the driver maps it', mapS3Error(aws('AccessDenied', 403), 'b', 'k', 'read')],
    ['S3 404 as the driver maps it', mapS3Error(aws('NoSuchKey', 404), 'b', 'k', 'read')],
    ['not found', new NotFoundError('gone')],
    ['a bad argument', new ValidationError('bad')],
    ['an unknown error', new Error('boom')],
    ['sluice InternalError (E099) is not the AWS one', toSluiceError(new Error('bug'))],
    ['a non-error', 'text'],
  ])('permanent: %s', (_, error) => {
    expect(classifyFailure(error)).toBe('permanent');
  });
});

const LISTED: ListedObject = { key: 'in/k.jsonl', size: 40, etag: 'e1' };
const BODY = Buffer.from('{"a":1}\n{"a":2}\n{"a":3}\n{"a":4}\n{"a":5}\n');

/** A storage whose getStream returns `body` and whose stat returns `stat` (local-like when no info). */
function storageWith(body: Readable, stat?: { size: number; etag: string }): Storage {
  return {
    url: 'file:///watched',
    getStream: async () => body,
    stat: async (key: string) => ({ key, mtime: new Date(), metadata: {}, ...(stat ?? LISTED) }),
  } as unknown as Storage;
}

function fromServer(chunks: Buffer[], info: { size?: number; etag?: string }, end = true): Readable {
  const body = new PassThrough();
  Object.defineProperty(body, RESPONSE_INFO, { value: info });
  for (const c of chunks) body.write(c);
  if (end) body.end();
  return body;
}

async function readAll(read: VerifiedRead): Promise<{ records: number; error?: unknown }> {
  let records = 0;
  try {
    for await (const _ of parseRecords(read.stream, LISTED.key)) records++;
    return { records };
  } catch (error) {
    return { records, error };
  }
}

describe('VerifiedRead', () => {
  const open = (body: Readable, stat?: { size: number; etag: string }, idleTimeoutMs = 5000) =>
    VerifiedRead.open(storageWith(body, stat), LISTED, { idleTimeoutMs });

  it('a whole body that matches the listing reads with no fault', async () => {
    const read = await open(fromServer([BODY], { size: 40, etag: 'e1' }));
    expect(BODY.length).toBe(LISTED.size);
    expect(await readAll(read)).toEqual({ records: 5 });
    expect(await read.fault()).toBeUndefined();
    expect(read.bytes).toBe(40);
  });

  it('a body cut cleanly at a line boundary is truncated, though every line parsed', async () => {
    const read = await open(fromServer([BODY.subarray(0, 24)], { etag: 'e1' }));
    const { error } = await readAll(read);
    const fault = await read.fault();
    expect(error).toBe(fault);
    expect(readFaultOf(fault)).toBe('truncated');
    expect(fault?.message).toContain('after 24 of 40 bytes');
    expect(retryNow(fault)).toBe(true);
  });

  it('a body cut mid-line: the parse error gives way to the truncation', async () => {
    const read = await open(fromServer([BODY.subarray(0, 20)], { etag: 'e1' }));
    await readAll(read);
    expect(readFaultOf(await read.fault())).toBe('truncated');
  });

  it('a reset mid-body is a broken read, transient', async () => {
    const body = fromServer([BODY.subarray(0, 16)], { size: 40, etag: 'e1' }, false);
    setTimeout(() => body.destroy(os('ECONNRESET', 'aborted')), 20);
    const read = await open(body);
    await readAll(read);
    const fault = await read.fault();
    expect(readFaultOf(fault)).toBe('broken');
    expect(isTransient(fault)).toBe(true);
    expect(retryNow(fault)).toBe(true);
  });

  it('another ETag or length in the response is a changed object: transient, not retried now', async () => {
    for (const info of [
      { size: 40, etag: 'e2' },
      { size: 41, etag: 'e1' },
    ]) {
      const read = await open(fromServer([BODY], info));
      const { records, error } = await readAll(read);
      expect(records).toBe(0);
      expect(readFaultOf(error)).toBe('changed');
      expect(isTransient(error)).toBe(true);
      expect(retryNow(error)).toBe(false);
    }
  });

  it('more bytes than listed is a changed object, stopped at once', async () => {
    const read = await open(fromServer([BODY, BODY], { etag: 'e1' }));
    await readAll(read);
    expect(readFaultOf(await read.fault())).toBe('changed');
  });

  it('a stalled body times out as a transient fault', async () => {
    const body = fromServer([BODY.subarray(0, 8)], { size: 40, etag: 'e1' }, false);
    const read = await open(body, undefined, 100);
    const { error } = await readAll(read);
    expect(readFaultOf(error)).toBe('stalled');
    expect(isTransient(error)).toBe(true);
    expect(body.destroyed).toBe(true);
  });

  it('a reader that stops early (a real format error) leaves no fault and ends the transfer', async () => {
    const bad = Buffer.from('not json\n'.padEnd(40, ' '));
    const body = fromServer([bad.subarray(0, 10)], { size: 40, etag: 'e1' }, false);
    const read = await open(body);
    const { error } = await readAll(read);
    expect((error as { code?: string }).code).toBe('E021');
    expect(await read.fault()).toBeUndefined();
    expect(body.destroyed).toBe(true);
  });

  it('without response info, a stat after the read finds a file rewritten under the reader', async () => {
    const read = await open(Readable.from([BODY]), { size: 40, etag: 'e9' });
    expect(await readAll(read)).toEqual({ records: 5 });
    const fault = await read.fault();
    expect(readFaultOf(fault)).toBe('changed');
    expect(fault?.message).toContain('rewritten while it was read');
    // The same stat says nothing is wrong when the file is the listed one.
    const same = await open(Readable.from([BODY]));
    await readAll(same);
    expect(await same.fault()).toBeUndefined();
  });
});

describe('fault proxy request matching', () => {
  it('takes GET /bucket/key?x-id=GetObject for an object read, never a listing', () => {
    expect(isGetObject('GET', '/b/in/k.json?x-id=GetObject')).toBe(true);
    expect(isGetObject('GET', '/b/in/k.json')).toBe(true);
    expect(isGetObject('GET', '/b?list-type=2&prefix=in%2F')).toBe(false);
    expect(isGetObject('GET', '/b/?list-type=2')).toBe(false);
    expect(isGetObject('HEAD', '/b/in/k.json')).toBe(false);
    expect(isGetObject('PUT', '/b/in/k.json?x-id=PutObject')).toBe(false);
  });
});
