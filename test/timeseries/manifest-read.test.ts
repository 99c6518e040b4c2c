import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkError } from '../../src/errors.ts';
import { createMemoryStorage, openStorage } from '../../src/storage/index.ts';
import type { Storage } from '../../src/storage/types.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { emptyManifest, MANIFEST_KEY, readManifest } from '../../src/timeseries/manifest.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { freshBucket, s3Endpoint, TEST_CREDENTIALS } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A storage whose first `faults` reads of the manifest come back torn or broken. */
function flakyManifest(
  storage: Storage,
  faults: ('torn' | 'reset')[],
): { storage: Storage; reads: () => number } {
  let reads = 0;
  const wrapped: Storage = Object.create(storage);
  // The manifest is read with its ETag (for the compare-and-swap of the next publish).
  wrapped.getWithEtag = async (key, options) => {
    if (key !== MANIFEST_KEY) return storage.getWithEtag(key, options);
    const fault = faults[reads++];
    if (fault === 'reset') throw new NetworkError('read ECONNRESET', { context: { retryable: true } });
    const { body, etag } = await storage.getWithEtag(key, options);
    return { body: fault === 'torn' ? body.subarray(0, Math.floor(body.length / 2)) : body, etag };
  };
  return { storage: wrapped, reads: () => reads };
}

describe('reading the manifest beside a writer', () => {
  it('retries a torn body and a reset connection as transient, and returns the whole manifest', async () => {
    const storage = createMemoryStorage();
    const manifest = { ...emptyManifest(), compactedSeq: 7, writers: { abc: 3 } };
    await storage.put(MANIFEST_KEY, JSON.stringify(manifest));
    const flaky = flakyManifest(storage, ['torn', 'reset', 'torn']);
    expect(await readManifest(flaky.storage)).toEqual(manifest);
    expect(flaky.reads()).toBe(4); // the three faults were seen, then the whole body
  });

  it('gives up after five torn reads with E050 naming the manifest', async () => {
    const storage = createMemoryStorage();
    await storage.put(MANIFEST_KEY, JSON.stringify(emptyManifest()));
    const flaky = flakyManifest(storage, ['torn', 'torn', 'torn', 'torn', 'torn', 'torn']);
    await expect(readManifest(flaky.storage)).rejects.toMatchObject({
      code: 'E050',
      message: expect.stringContaining(`${MANIFEST_KEY} is unreadable`),
    });
    expect(flaky.reads()).toBe(5);
  });

  it('an unchanged manifest is not read again: a stat of its ETag says so; a replaced one is read', async () => {
    const storage = createMemoryStorage();
    await storage.put(MANIFEST_KEY, JSON.stringify({ ...emptyManifest(), compactedSeq: 1 }));
    const counted = flakyManifest(storage, []);
    const first = await readManifest(counted.storage);
    expect(await readManifest(counted.storage)).toBe(first);
    expect(counted.reads(), 'one body read for two reads of one version').toBe(1);
    await storage.put(MANIFEST_KEY, JSON.stringify({ ...emptyManifest(), compactedSeq: 2 }));
    expect((await readManifest(counted.storage)).compactedSeq).toBe(2);
    expect(counted.reads()).toBe(2);
  });

  it('a writer does not read back the manifest it published; one another writer published is read', async () => {
    const storage = createMemoryStorage();
    const counted = flakyManifest(storage, []);
    const walDir = path.join(tempDir('ts-manifest-published'), 'wal');
    const options = { compactIntervalMs: 0, compactPoints: 0, storageInstance: counted.storage, walDir };
    const store = await TimeSeriesStore.open('memory://ts-manifest-published', options);
    try {
      const T0 = Date.UTC(2024, 0, 1);
      const add = (i: number) =>
        store.storeDataPoints([{ variable: 'v', timestamp: T0 + i * 1000, value: i }]);
      await add(0);
      await store.compact();
      const afterFirst = counted.reads(); // the first publish had no manifest to read
      for (let i = 1; i <= 5; i++) {
        await add(i);
        await store.compact();
      }
      expect(counted.reads(), 'five compactions, each under the lease, read no manifest body').toBe(
        afterFirst,
      );

      // Another writer's publish (a new version of the object): the next compaction reads it.
      const stored = JSON.parse((await storage.get(MANIFEST_KEY)).toString());
      await storage.put(MANIFEST_KEY, JSON.stringify({ ...stored, writers: { other: 9 } }));
      await add(6);
      await store.compact();
      expect(counted.reads()).toBe(afterFirst + 1);
      const now = JSON.parse((await storage.get(MANIFEST_KEY)).toString());
      expect(now.writers, "the other writer's progress survives this writer's publish").toMatchObject({
        other: 9,
      });
      expect((await store.queryAll('v')).map((p) => p.value)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    } finally {
      await store.close();
    }
  });

  it('on S3, a GetObject answered without its ETag (a read racing a write on s3rver) is read again', async () => {
    const b = await freshBucket('manifest-no-etag');
    const proxy = await startFaultProxy(s3Endpoint());
    const storage = openStorage(`s3://${b.bucket}/w`, {
      s3: {
        endpoint: proxy.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: TEST_CREDENTIALS,
      },
    });
    try {
      const manifest = { ...emptyManifest(), compactedSeq: 11 };
      await storage.put(MANIFEST_KEY, JSON.stringify(manifest));
      proxy.setRates({ noEtag: 1, maxFaults: 2 });
      expect(await readManifest(storage)).toEqual(manifest);
      expect(proxy.counters.noEtags, 'the fault was injected twice, then the whole answer read').toBe(2);
    } finally {
      await storage.close();
      await proxy.close();
    }
  });
});
