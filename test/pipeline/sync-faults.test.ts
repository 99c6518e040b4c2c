/**
 * Sync under transient faults, with the real AWS SDK and s3rver behind a fault-injecting proxy
 * (one SDK attempt, so sync itself meets every fault): a body that breaks or ends short, an object
 * rewritten since it was listed, an upload whose connection resets. A fault is retried with
 * backoff; once the retries are spent the target keeps what it had (the old version, or nothing),
 * never a partial file, and the sync fails with E070 naming each deferred key, as transient.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTransient, type SluiceError } from '../../src/errors.ts';
import { closeS3Clients } from '../../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { type SyncOptions, syncStorages } from '../../src/sync/sync.ts';
import { type FaultProxy, type FaultRates, startFaultProxy } from '../helpers/fault-proxy.ts';
import { freshBucket, s3Endpoint, s3Options, TEST_CREDENTIALS } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeFile } from './helpers.ts';

const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.close();
  await closeS3Clients();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** No cache (every run starts from the listings) and quick retries. */
const fast: SyncOptions = { cacheDir: false, retryDelayMs: 5 };

/**
 * A bucket with `objects`, seen directly and through a proxy. Without `withSha` they have no sha256
 * metadata (as another tool would leave them), so a streamed copy reads each body twice: to hash
 * it, then to copy it; with it, the only read is the copy's.
 */
async function bucketWith(objects: Record<string, Buffer>, withSha = false) {
  const b = await freshBucket('sync-faults');
  const direct = openStorage(b.url(), s3Options());
  for (const [k, body] of Object.entries(objects)) {
    await direct.put(k, body, withSha ? { metadata: { sha256: sha256(body) } } : {});
  }
  const proxy = await startFaultProxy(s3Endpoint(), 11);
  proxies.push(proxy);
  const s3 = {
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
  };
  const proxied = openStorage(b.url(), { s3: { ...s3, maxAttempts: 1 } });
  return { direct, proxy, proxied };
}

/** Every sluice temp file under `dir`, sidecar folders included. */
function tempFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.sluice-tmp'));
}

function faultCount(proxy: FaultProxy, fault: 'reset' | 'short'): number {
  return fault === 'reset' ? proxy.counters.resets : proxy.counters.shorts;
}

describe('sync s3 → local under download faults', () => {
  it.each([
    ['reset', 'buffered'],
    ['short', 'buffered'],
    ['reset', 'streamed'],
    ['short', 'streamed'],
    ['reset', 'streamed, hashed first'],
    ['short', 'streamed, hashed first'],
  ] as const)('a body %s mid-download (%s) is retried and lands whole', async (fault, how) => {
    const objects = { 'a.bin': randomBytes(200_000), 'b.bin': randomBytes(50_000) };
    const { proxy, proxied } = await bucketWith(objects, how === 'streamed');
    proxy.setRates({ [fault]: 1, maxFaults: 1, pathIncludes: '/a.bin' } satisfies FaultRates);
    const dir = tempDir('sync-faults-down');
    const local = openStorage(dir);
    const r = await syncStorages(proxied, local, {
      ...fast,
      ...(how === 'buffered' ? {} : { bufferLimit: 1024 }),
    });
    expect(faultCount(proxy, fault), JSON.stringify(proxy.counters)).toBe(1);
    expect(r.uploaded).toEqual(['a.bin', 'b.bin']);
    expect(r.retries).toBe(1);
    for (const [k, body] of Object.entries(objects)) {
      expect(readFileSync(path.join(dir, k)).equals(body), k).toBe(true);
      // The sha256 kept with the file is of these bytes, not of a cut read.
      expect((await local.stat(k)).metadata.sha256, k).toBe(sha256(body));
    }
    expect(tempFiles(dir)).toEqual([]);
  });

  it.each([
    ['reset', 'buffered'],
    ['short', 'buffered'],
    ['reset', 'streamed'],
    ['short', 'streamed'],
  ] as const)(
    'retries spent on a %s body (%s): old version kept, no partial file, E070 deferred and transient',
    async (fault, how) => {
      const fresh = {
        'f/a.bin': randomBytes(300_000),
        'f/new.bin': randomBytes(40_000),
        'ok.bin': randomBytes(9_000),
      };
      const { proxy, proxied } = await bucketWith(fresh, true);
      const options: SyncOptions = { ...fast, ...(how === 'streamed' ? { bufferLimit: 1024 } : {}) };
      const dir = tempDir('sync-faults-spent');
      const old = randomBytes(1000);
      writeFile(path.join(dir, 'f/a.bin'), old);
      proxy.setRates({ [fault]: 1, pathIncludes: '/f/' });
      const error = (await syncStorages(proxied, openStorage(dir), {
        ...options,
        transientAttempts: 3,
      }).catch((e: unknown) => e)) as SluiceError;
      // Three attempts at each of the two objects, every one of them faulted.
      expect(faultCount(proxy, fault), JSON.stringify(proxy.counters)).toBe(6);
      expect(error.code, String(error)).toBe('E070');
      expect(isTransient(error)).toBe(true);
      expect(error.message).toMatch(/2 objects deferred after 3 attempts each/);
      expect(error.message).toMatch(
        fault === 'reset' ? /f\/a\.bin \(E007: .*connection reset \(ECONNRESET\)/ : /truncated/,
      );
      expect(error.context).toMatchObject({
        copied: 1,
        deferred: [
          expect.objectContaining({ key: 'f/a.bin' }),
          expect.objectContaining({ key: 'f/new.bin' }),
        ],
      });
      // Nothing stored changed but the clean object: the old version stays, the new file never appears.
      expect(readFileSync(path.join(dir, 'f/a.bin')).equals(old)).toBe(true);
      expect(existsSync(path.join(dir, 'f/new.bin'))).toBe(false);
      expect(readFileSync(path.join(dir, 'ok.bin')).equals(fresh['ok.bin'])).toBe(true);
      expect(tempFiles(dir)).toEqual([]);

      // Once the network behaves, a rerun copies what was deferred.
      proxy.setRates({});
      const again = await syncStorages(proxied, openStorage(dir), options);
      expect(again.uploaded).toEqual(['f/a.bin', 'f/new.bin']);
      for (const [k, body] of Object.entries(fresh))
        expect(readFileSync(path.join(dir, k)).equals(body), k).toBe(true);
    },
  );

  it('a compare read cut short is retried, never taken for the hash', async () => {
    const same = randomBytes(120_000);
    const { proxy, proxied } = await bucketWith({ 'same.bin': same });
    const dir = tempDir('sync-faults-hash');
    writeFile(path.join(dir, 'same.bin'), same);
    proxy.setRates({ short: 1, maxFaults: 1 });
    const r = await syncStorages(proxied, openStorage(dir), fast);
    expect(proxy.counters.shorts).toBe(1);
    expect(r).toMatchObject({ uploaded: [], unchanged: 1, retries: 1 });
  });

  it.each(['buffered', 'streamed'] as const)(
    'an object rewritten after it was listed (%s): the version now there is copied, bytes and sha256 agree',
    async (how) => {
      const v1 = randomBytes(100_000);
      const v2 = randomBytes(100_000);
      const { direct, proxied } = await bucketWith({ 'a.bin': v1 });
      // The rewrite lands just before the copy's read (after the hash read, when streamed).
      let reads = 0;
      let rewrites = 0;
      const rewriteAt = how === 'streamed' ? 2 : 1;
      const hook = async () => {
        reads += 1;
        if (reads === rewriteAt) {
          rewrites += 1;
          await direct.put('a.bin', v2);
        }
      };
      const source: Storage = {
        ...proxied,
        async get(k, o) {
          await hook();
          return proxied.get(k, o);
        },
        async getStream(k, o) {
          await hook();
          return proxied.getStream(k, o);
        },
      };
      const dir = tempDir('sync-faults-rewrite');
      const local = openStorage(dir);
      const r = await syncStorages(source, local, {
        ...fast,
        ...(how === 'streamed' ? { bufferLimit: 1024 } : {}),
      });
      expect(rewrites).toBe(1);
      expect(r.uploaded).toEqual(['a.bin']);
      expect(r.retries).toBe(1);
      const got = readFileSync(path.join(dir, 'a.bin'));
      expect(got.equals(v2)).toBe(true);
      expect((await local.stat('a.bin')).metadata.sha256).toBe(sha256(got));
      expect(tempFiles(dir)).toEqual([]);
    },
  );
});

describe('sync local → s3 under upload resets', () => {
  it('a reset upload is retried and the object lands whole', async () => {
    const { direct, proxy, proxied } = await bucketWith({});
    const dir = tempDir('sync-faults-up');
    const body = randomBytes(150_000);
    writeFile(path.join(dir, 'up.bin'), body);
    proxy.setRates({ putReset: 1, maxFaults: 1 });
    const r = await syncStorages(openStorage(dir), proxied, fast);
    expect(proxy.counters.putResets).toBe(1);
    expect(r).toMatchObject({ uploaded: ['up.bin'], retries: 1 });
    expect((await direct.get('up.bin')).equals(body)).toBe(true);
    expect((await direct.stat('up.bin')).metadata.sha256).toBe(sha256(body));
  });

  it('a local file that grew after it was listed is copied as it is then, with its sha256', async () => {
    const { direct, proxied } = await bucketWith({});
    const dir = tempDir('sync-faults-grew');
    writeFile(path.join(dir, 'grows.log'), 'line 1\n');
    const local = openStorage(dir);
    let rewrites = 0;
    const source: Storage = {
      ...local,
      async get(k, o) {
        if (rewrites === 0) {
          rewrites += 1;
          writeFile(path.join(dir, k), 'line 1\nline 2\n');
        }
        return local.get(k, o);
      },
    };
    const r = await syncStorages(source, proxied, fast);
    expect(rewrites).toBe(1);
    expect(r).toMatchObject({ uploaded: ['grows.log'], retries: 1, bytes: 14 });
    expect((await direct.get('grows.log')).toString()).toBe('line 1\nline 2\n');
    expect((await direct.stat('grows.log')).metadata.sha256).toBe(sha256(Buffer.from('line 1\nline 2\n')));
  });

  it('retries spent: E070 deferred with the E007 reset as cause, the old object stays', async () => {
    const old = randomBytes(500);
    const { direct, proxy, proxied } = await bucketWith({ 'f/a.bin': old });
    const dir = tempDir('sync-faults-up-spent');
    writeFile(path.join(dir, 'f/a.bin'), randomBytes(80_000));
    writeFile(path.join(dir, 'ok.bin'), randomBytes(2_000));
    proxy.setRates({ putReset: 1, pathIncludes: '/f/' });
    const error = (await syncStorages(openStorage(dir), proxied, { ...fast, transientAttempts: 2 }).catch(
      (e: unknown) => e,
    )) as SluiceError;
    expect(proxy.counters.putResets).toBe(2);
    expect(error.code, String(error)).toBe('E070');
    expect(isTransient(error)).toBe(true);
    expect(error.message).toMatch(/1 object deferred after 2 attempts each/);
    expect(error.message).toContain(`Connection reset while uploading f/a.bin to ${proxy.endpoint}/`);
    expect(error.message).not.toMatch(/timed out/i);
    const cause = (error.context.deferred as { code: string }[])[0];
    expect(cause?.code).toBe('E007');
    expect((await direct.get('f/a.bin')).equals(old)).toBe(true);
    expect((await direct.get('ok.bin')).equals(readFileSync(path.join(dir, 'ok.bin')))).toBe(true);
  });
});
