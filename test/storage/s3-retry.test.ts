import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import { createS3Storage } from '../../src/storage/drivers/s3/s3-storage.ts';
import { freshBucket, TEST_CREDENTIALS, type TestBucket } from '../helpers/s3.ts';

/**
 * A proxy in front of s3rver that answers the next `failNext` requests with a 503 SlowDown (as
 * S3 does when throttling), then forwards. Counts every request it sees.
 */
function flakyProxy(target: string) {
  const state = { failNext: 0, seen: 0, status: 503 };
  const server = http.createServer((req, res) => {
    state.seen++;
    if (state.failNext > 0) {
      state.failNext--;
      req.resume();
      res.writeHead(state.status, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0"?><Error><Code>${state.status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>try later</Message></Error>`,
      );
      return;
    }
    const url = new URL(req.url ?? '/', target);
    const upstream = http.request(
      url,
      { method: req.method, headers: { ...req.headers, host: url.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  return { server, state };
}

describe('s3 driver retries', () => {
  let bucket: TestBucket;
  let proxy: ReturnType<typeof flakyProxy>;
  let endpoint = '';
  beforeAll(async () => {
    bucket = await freshBucket('retry');
    proxy = flakyProxy(bucket.endpoint);
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => proxy.server.close(r));
  });

  it('retries throttling and 5xx with backoff, then succeeds', async () => {
    const storage = createS3Storage({
      bucket: bucket.bucket,
      endpoint,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 5,
    });
    proxy.state.failNext = 2;
    proxy.state.seen = 0;
    await storage.put('r/ok.txt', 'retried');
    expect(proxy.state.seen).toBe(3);
    proxy.state.failNext = 2;
    proxy.state.status = 500;
    expect((await storage.get('r/ok.txt')).toString()).toBe('retried');
  });

  it('gives up after maxAttempts with a retryable S3AccessError (E002) naming the key', async () => {
    const storage = createS3Storage({
      bucket: bucket.bucket,
      endpoint,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 2,
    });
    proxy.state.failNext = 5;
    proxy.state.status = 503;
    const error = await storage.put('r/never.txt', 'x').catch((e: unknown) => e);
    proxy.state.failNext = 0;
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('E002');
    expect((error as SluiceError).message).toContain(`s3://${bucket.bucket}/r/never.txt`);
    expect((error as SluiceError).context.retryable).toBe(true);
    expect(await storage.exists('r/never.txt')).toBe(false);
  });

  it('maps a missing bucket and an unreachable endpoint to typed errors', async () => {
    const missing = createS3Storage({
      bucket: 'no-such-bucket-xyz',
      endpoint: bucket.endpoint,
      credentials: TEST_CREDENTIALS,
    });
    const e1 = await missing.put('k', 'x').catch((e: unknown) => e);
    expect((e1 as SluiceError).code).toBe('E002');
    expect((e1 as SluiceError).message).toMatch(/no-such-bucket-xyz does not exist/);
    const unreachable = createS3Storage({
      bucket: 'abc',
      endpoint: 'http://127.0.0.1:9',
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
    });
    const e2 = await unreachable.get('k').catch((e: unknown) => e);
    expect((e2 as SluiceError).code).toBe('E007');
  });

  it('names the full key once in errors from a storage rooted at a prefix', async () => {
    const storage = createS3Storage({
      bucket: bucket.bucket,
      prefix: 'pre/',
      endpoint: bucket.endpoint,
      credentials: TEST_CREDENTIALS,
    });
    const error = (await storage.get('missing.txt').catch((e: unknown) => e)) as SluiceError;
    expect(error.code).toBe('E011');
    expect(error.message).toContain(`s3://${bucket.bucket}/pre/missing.txt`);
    expect(error.message).not.toContain('pre/pre/');
  });
});
