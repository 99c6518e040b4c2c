/**
 * Transient faults never send a valid object to failed/: the poller reads ~200 objects through a
 * proxy that resets, shortens, stalls and throttles S3 responses, with the real AWS SDK. Every
 * record reaches the queue exactly once within a few polls, deferred objects are counted, and
 * only the genuinely broken objects end in failed/.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Poller, type PollSummary } from '../../src/poller/poller.ts';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { closeS3Clients } from '../../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { freshBucket, s3Endpoint, s3Options, TEST_CREDENTIALS } from '../helpers/s3.ts';
import { expectEachRecordOnce, listKeys, scratchDirs, seedObjects } from './fixtures.ts';

const scratch = scratchDirs('poll-faults');
const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.close();
  await closeS3Clients();
});

async function proxied(seed: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy(s3Endpoint(), seed);
  proxies.push(proxy);
  return proxy;
}

/** Storage options that reach s3rver through the proxy; one SDK attempt, so the poller sees every fault. */
const viaProxy = (proxy: FaultProxy) => ({
  s3: {
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
  },
});

async function deferredMetric(poller: Poller): Promise<number> {
  const metric = await poller.metrics.objects.get();
  return metric.values.find((v) => v.labels.outcome === 'deferred')?.value ?? 0;
}

describe('Poller under transient S3 faults', () => {
  it('resets, short bodies, stalls and 503s: nothing valid in failed/, every record once', async () => {
    // FAULT_SEED=<n> replays a run's fault choices (their order still depends on timing).
    const seed = Number(process.env.FAULT_SEED) || Number.parseInt(randomBytes(4).toString('hex'), 16);
    const b = await freshBucket('poll-faults');
    const root = openStorage(b.url(), s3Options());
    const seeded = await seedObjects(root, 'in/', 200);
    const db = path.join(scratch('s3'), 'q.db');
    const name = `f-${randomBytes(3).toString('hex')}`;
    const queue = createSqliteQueue({ path: db, name, pollMs: 10 });
    const state = createSqliteStateStore(db, b.url('in/'));
    const proxy = await proxied(seed);
    proxy.setRates({
      reset: 0.12,
      short: 0.05,
      stall: 0.04,
      stallMs: 3000,
      slowDown: 0.05,
      slowDownOther: 0.02,
    });
    const common = {
      source: b.url('in/'),
      queue,
      state,
      storageOptions: viaProxy(proxy),
      minAgeMs: 0,
      concurrency: 8,
      retryDelayMs: 20,
      readIdleTimeoutMs: 1000,
    };
    const summaries: (PollSummary | string)[] = [];
    let failed = 0;

    // One attempt per object: every fault defers its object to the next poll. With one attempt a
    // listing that meets a 503 fails the poll as a whole (the next lists again): so does this.
    const once = new Poller({ ...common, transientAttempts: 1 });
    let first = await once.pollOnce().catch((e: Error) => e.message);
    summaries.push(first);
    for (let i = 0; i < 5 && typeof first === 'string' && first.startsWith('Cannot list'); i++) {
      first = await once.pollOnce().catch((e: Error) => e.message);
      summaries.push(first);
    }
    const context = () =>
      `seed ${seed}, proxy ${JSON.stringify(proxy.counters)}, polls ${JSON.stringify(summaries)}`;
    expect(typeof first, context()).toBe('object');
    if (typeof first === 'object') {
      failed += first.failed;
      expect(first.deferred, context()).toBeGreaterThan(0);
      expect(await deferredMetric(once), context()).toBe(first.deferred);
    }
    await once.close();

    // Then the default policy (a few attempts with backoff) until nothing is left.
    const poller = new Poller(common);
    for (let round = 0; round < 6; round++) {
      // A listing can meet a 503 too: that poll fails as a whole and the next one lists again.
      const s = await poller.pollOnce().catch((e: Error) => e.message);
      summaries.push(s);
      if (typeof s === 'object') {
        failed += s.failed;
        if (s.listed === 0) break;
      }
    }
    const last = summaries.at(-1);
    expect(typeof last === 'object' && last.listed, context()).toBe(0);
    expect(summaries.length, context()).toBeLessThanOrEqual(6);
    // The faults really happened.
    expect(proxy.counters.resets, context()).toBeGreaterThan(0);
    expect(proxy.counters.shorts, context()).toBeGreaterThan(0);
    expect(proxy.counters.slowDowns, context()).toBeGreaterThan(0);
    expect(proxy.counters.stalls, context()).toBeGreaterThan(0);

    // Only the broken objects failed, each once, with an E021 report; every good one is archived.
    expect(failed, context()).toBe(seeded.bad.length);
    expect(await listKeys(root, 'failed/')).toEqual(
      seeded.bad.flatMap((k) => [`failed/${k}`, `failed/${k}.error.json`]).sort(),
    );
    for (const k of seeded.bad) {
      expect(JSON.parse((await root.get(`failed/${k}.error.json`)).toString()).code).toBe('E021');
    }
    expect(await listKeys(root, 'processed/')).toEqual(seeded.good.map((k) => `processed/${k}`).sort());
    await poller.close();
    await state.close();
    await queue.close();
    await expectEachRecordOnce(`sqlite:${db}`, name, seeded.tags);
    await root.close();
  }, 240_000);
});

describe('Poller with objects broken at rest', () => {
  it.each(['s3', 'local'] as const)(
    '%s: a cut JSON, a cut gzip, an open quote and a too large object fail at the first poll',
    async (kind) => {
      let root: ReturnType<typeof openStorage>;
      let source: string;
      if (kind === 's3') {
        const b = await freshBucket('poll-broken');
        root = openStorage(b.url(), s3Options());
        source = b.url('in/');
      } else {
        source = path.join(scratch('broken'), 'in');
        root = openStorage(path.dirname(source));
      }
      const prefix = 'in/';
      const gz = gzipSync('{"name":"a","value":1}\n'.repeat(200));
      const broken: Record<string, string | Buffer> = {
        'cut.json': '{"name":"a","value":1',
        'cut.jsonl.gz': gz.subarray(0, Math.floor(gz.length / 2)),
        'open-quote.csv': 'name,value\na,"1\n',
        'huge.jsonl': '{"name":"a","value":1}\n'.repeat(100),
      };
      for (const [k, body] of Object.entries(broken)) await root.put(prefix + k, body);
      await root.put(`${prefix}good.csv`, 'name,value\na,1\nb,2\n');
      const db = path.join(scratch(`broken-${kind}`), 'q.db');
      const queue = createSqliteQueue({ path: db, name: `b-${randomBytes(3).toString('hex')}`, pollMs: 10 });
      const state = createSqliteStateStore(db, source);
      const poller = new Poller({
        source,
        queue,
        state,
        minAgeMs: 0,
        maxObjectBytes: 1000,
        ...(kind === 's3' ? { storageOptions: s3Options() } : {}),
      });
      const first = await poller.pollOnce();
      expect(first).toMatchObject({ listed: 5, archived: 1, failed: 4, deferred: 0, retries: 0, records: 2 });
      const failedRoot = kind === 's3' ? root : openStorage(source);
      for (const k of Object.keys(broken)) {
        const report = JSON.parse((await failedRoot.get(`failed/${k}.error.json`)).toString());
        expect(report.code, k).toBe(k === 'huge.jsonl' ? 'E061' : 'E021');
        expect(report.recordsEnqueued, k).toBe(0);
      }
      expect(await deferredMetric(poller)).toBe(0);
      expect(await poller.pollOnce()).toMatchObject({ listed: 0, failed: 0 });
      await poller.close();
      await state.close();
      await queue.close();
      await root.close();
    },
  );
});
