/**
 * An upload whose connection resets is a network fault, not a timeout: the AWS SDK names every
 * ECONNRESET/EPIPE `TimeoutError`, and sluice used to report it as E008. Through a proxy that
 * resets the connection after half of the request body, with the real SDK and s3rver.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { isTransient, type SluiceError } from '../../src/errors.ts';
import { closeS3Clients, createS3Storage } from '../../src/storage/drivers/s3.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { freshBucket, s3Endpoint, TEST_CREDENTIALS } from '../helpers/s3.ts';

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
