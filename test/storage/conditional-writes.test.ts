/**
 * Conditional writes for real: whether a backend decides `ifMatch` / `ifNotExists` atomically
 * (`conditionalWrites()`), and racing conditional puts where it does. s3rver does not honour the
 * headers; test/helpers/conditional-s3.ts stands in for a server that does (as AWS S3 does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceError } from '../../src/errors.ts';
import { createFsStorage, createMemoryStorage, listKeys, openStorage } from '../../src/storage/index.ts';
import type { Storage } from '../../src/storage/types.ts';
import { type ConditionalS3, startConditionalS3 } from '../helpers/conditional-s3.ts';
import { freshBucket, s3Endpoint, s3Options, TEST_CREDENTIALS } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The codes of `n` puts started at once: which succeeded ('ok') and which failed how. */
async function race(n: number, put: (i: number) => Promise<unknown>): Promise<string[]> {
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => put(i)));
  return results.map((r) =>
    r.status === 'fulfilled' ? 'ok' : ((r.reason as SluiceError).code ?? String(r.reason)),
  );
}

const count = (codes: string[], code: string) => codes.filter((c) => c === code).length;

function viaProxy(endpoint: string) {
  return { s3: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials: TEST_CREDENTIALS } };
}

describe('conditional writes: s3rver, which ignores them', () => {
  it('is detected as not honouring them, leaves no probe object, and still refuses a stale ifMatch by its check', async () => {
    const b = await freshBucket('cas-s3rver');
    const storage = openStorage(b.url('store/'), s3Options());
    expect(await storage.conditionalWrites()).toBe(false);
    expect(await storage.conditionalWrites()).toBe(false);
    expect(await listKeys(storage, { prefix: '_sluice/' })).toEqual([]);
    const v1 = await storage.put('k.json', '{"v":1}');
    await storage.put('k.json', '{"v":2}', { ifMatch: v1.etag });
    await expect(storage.put('k.json', '{"v":3}', { ifMatch: v1.etag })).rejects.toMatchObject({
      code: 'E015',
      message: expect.stringContaining(`s3://${b.bucket}/store/k.json`),
    });
    expect((await storage.get('k.json')).toString()).toBe('{"v":2}');
  });
});

describe('conditional writes: an S3 endpoint that honours them (conditional proxy)', () => {
  let proxy: ConditionalS3;
  beforeAll(async () => {
    proxy = await startConditionalS3(s3Endpoint());
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('is detected as honouring them, once per endpoint and bucket, and the probe object is gone', async () => {
    const b = await freshBucket('cas-probe');
    const storage = openStorage(b.url('store/'), viaProxy(proxy.endpoint));
    const before = proxy.puts.length;
    expect(await storage.conditionalWrites()).toBe(true);
    const probes = proxy.puts.slice(before);
    expect(probes.map((p) => `${p.condition} ${p.status}`)).toEqual([
      'If-None-Match 200',
      'If-None-Match 412',
      'If-Match 412',
      'If-Match 200',
    ]);
    expect(probes[0]?.path).toMatch(new RegExp(`^${b.bucket}/store/_sluice/cas-probe-[0-9a-f]+$`));
    // Cached: another storage of the same bucket and endpoint asks nothing.
    expect(await openStorage(b.url('other/'), viaProxy(proxy.endpoint)).conditionalWrites()).toBe(true);
    expect(proxy.puts.length).toBe(before + 4);
    expect(await listKeys(storage, { prefix: '_sluice/' })).toEqual([]);
  });

  it('a put with a stale ifMatch fails with E015 naming the s3:// URL, and the object is unchanged', async () => {
    const b = await freshBucket('cas-stale');
    const storage = openStorage(b.url('s/'), viaProxy(proxy.endpoint));
    expect(await storage.conditionalWrites()).toBe(true);
    const v1 = await storage.put('m.json', 'one');
    const v2 = await storage.put('m.json', 'two', { ifMatch: v1.etag });
    const before = proxy.puts.length;
    const error = await storage.put('m.json', 'three', { ifMatch: v1.etag }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E015', name: 'PreconditionFailedError' });
    expect((error as Error).message).toContain(`s3://${b.bucket}/s/m.json`);
    // Decided by the server (the probe's verdict skips the driver's own check).
    expect(proxy.puts.slice(before)).toEqual([
      { path: `${b.bucket}/s/m.json`, condition: 'If-Match', status: 412 },
    ]);
    const now = await storage.getWithEtag('m.json');
    expect(now.body.toString()).toBe('two');
    expect(now.etag).toBe(v2.etag);
  });

  it('of 6 racing puts with one ifMatch exactly one wins; of 6 racing ifNotExists exactly one creates', async () => {
    const b = await freshBucket('cas-race');
    const storage = openStorage(b.url(), viaProxy(proxy.endpoint));
    expect(await storage.conditionalWrites()).toBe(true);
    const base = await storage.put('x.txt', 'base');
    const codes = await race(6, (i) => storage.put('x.txt', `writer ${i}`, { ifMatch: base.etag }));
    expect(count(codes, 'ok')).toBe(1);
    expect(count(codes, 'E015')).toBe(5);
    const created = await race(6, (i) => storage.put('new.txt', `writer ${i}`, { ifNotExists: true }));
    expect(count(created, 'ok')).toBe(1);
    expect(count(created, 'E013')).toBe(5);
  });
});

describe('conditional writes: local drivers', () => {
  const drivers: [string, () => Storage, boolean][] = [
    ['memory', () => createMemoryStorage(), true],
    ['fs', () => createFsStorage({ root: tempDir('cas-fs') }), false],
  ];
  for (const [name, open, atomic] of drivers) {
    it(`${name}: conditionalWrites() is ${atomic}; racing ifMatch puts of one process: exactly one wins`, async () => {
      const storage = open();
      expect(await storage.conditionalWrites()).toBe(atomic);
      const base = await storage.put('m.json', 'base');
      const codes = await race(8, (i) => storage.put('m.json', `writer ${i}`, { ifMatch: base.etag }));
      expect(count(codes, 'ok')).toBe(1);
      expect(count(codes, 'E015')).toBe(7);
      // A stale put leaves no temp file behind.
      expect(await listKeys(storage)).toEqual(['m.json']);
    });
  }
});
