/**
 * An upload whose connection resets is a network fault, not a timeout: the AWS SDK names every
 * ECONNRESET/EPIPE `TimeoutError`, and sluice used to report it as E008. Through a proxy that
 * resets the connection after half of the request body, with the real SDK and s3rver.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTransient, type SluiceError } from '../../src/errors.ts';
import { closeS3Clients, createS3Storage } from '../../src/storage/drivers/s3/s3-storage.ts';
import { uploadTree } from '../../src/sync/upload-tree.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { freshBucket, s3Endpoint, TEST_CREDENTIALS } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const MiB = 1024 * 1024;
const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.close();
  await closeS3Clients();
});

async function setUp(maxAttempts: number) {
  const b = await freshBucket('upload-reset');
  const proxy = await startFaultProxy(s3Endpoint(), 7);
  proxies.push(proxy);
  const storage = createS3Storage({
    bucket: b.bucket,
    endpoint: proxy.endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts,
    multipartThreshold: 6 * MiB,
    partSize: 5 * MiB,
    queueSize: 2,
  });
  const direct = createS3Storage({ bucket: b.bucket, endpoint: s3Endpoint(), credentials: TEST_CREDENTIALS });
  return { b, proxy, storage, direct };
}

describe('S3 upload with a connection reset', () => {
  it.each([
    ['a single PutObject', 64 * 1024],
    ['a multipart upload', 11 * MiB],
  ])(
    '%s: retries spent → E007 "connection reset while uploading <key> to <endpoint>/<bucket>", transient',
    async (_, size) => {
      const { b, proxy, storage, direct } = await setUp(2);
      proxy.setRates({ putReset: 1 });
      const key = `up/${randomBytes(3).toString('hex')}.bin`;
      const error = (await storage.put(key, randomBytes(size)).catch((e: unknown) => e)) as SluiceError;
      const seen = JSON.stringify(proxy.counters);
      // The fault really happened, on every attempt the SDK made.
      expect(proxy.counters.putResets, seen).toBeGreaterThanOrEqual(2);
      expect(proxy.counters.putResets, seen).toBe(proxy.counters.puts);
      expect(error.code, error.message).toBe('E007');
      expect(error.code).not.toBe('E008');
      expect(error.message).toContain(
        `Connection reset while uploading ${key} to ${proxy.endpoint}/${b.bucket}`,
      );
      expect(error.context).toMatchObject({ bucket: b.bucket, key, retryable: true });
      expect(isTransient(error)).toBe(true);
      // Nothing was stored.
      expect(await direct.exists(key)).toBe(false);
    },
  );

  it('a reset on the first attempt is retried and the object lands whole', async () => {
    const { proxy, storage, direct } = await setUp(3);
    proxy.setRates({ putReset: 1, maxFaults: 1 });
    const body = randomBytes(200 * 1024);
    await storage.put('up/ok.bin', body);
    expect(proxy.counters.putResets).toBe(1);
    expect(proxy.counters.puts).toBe(2);
    expect((await direct.get('up/ok.bin')).equals(body)).toBe(true);
  });
});

describe('uploadTree with connection resets', () => {
  it('a reset file is uploaded again with a fresh body; retries spent → the E007 reset', async () => {
    const { proxy, storage, direct } = await setUp(1);
    const dir = tempDir('upload-tree-reset');
    const files = { 'a.bin': randomBytes(70_000), 'big/b.bin': randomBytes(300_000) };
    for (const [rel, body] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), body);
    }
    // One reset per file; the larger one is streamed from disk (bufferLimit), so it is reopened.
    proxy.setRates({ putReset: 1, maxFaults: 2 });
    const done = await uploadTree(dir, storage, 'tree', { bufferLimit: 100_000, retryDelayMs: 5 });
    expect(proxy.counters.putResets).toBe(2);
    expect(done).toEqual({ files: 2, bytes: 370_000 });
    for (const [rel, body] of Object.entries(files))
      expect((await direct.get(`tree/${rel}`)).equals(body)).toBe(true);

    proxy.setRates({ putReset: 1, pathIncludes: '/again/a.bin' });
    const error = (await uploadTree(dir, storage, 'again', { retryDelayMs: 5, transientAttempts: 2 }).catch(
      (e: unknown) => e,
    )) as SluiceError;
    expect(proxy.counters.putResets).toBe(4);
    expect(error.code).toBe('E007');
    expect(error.message).toContain('Connection reset while uploading again/a.bin to');
  });
});
