/**
 * Writers on several hosts without a lease, kept apart by the manifest's compare-and-swap, on an
 * S3 endpoint that honours conditional writes (test/helpers/conditional-s3.ts in front of
 * s3rver, standing in for AWS S3). On s3rver itself, which ignores them, a second writer without a
 * lease is still refused with E071 (multi-writer.test.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { MANIFEST_KEY, type Manifest } from '../../src/timeseries/manifest.ts';
import { decodeManifest } from '../../src/timeseries/manifest-codec.ts';
import { type ConditionalS3, startConditionalS3 } from '../helpers/conditional-s3.ts';
import { freshBucket, s3Endpoint, TEST_CREDENTIALS, type TestBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'multi-writer.ts');
const T0 = Date.UTC(2024, 0, 1);

let proxy: ConditionalS3;
beforeAll(async () => {
  proxy = await startConditionalS3(s3Endpoint());
});
afterAll(async () => {
  await proxy.close();
});

/** Runs the multi-writer fixture (points from..to-1 of `w-<tag>`) through the proxy; resolves with its output. */
function runWriter(b: TestBucket, tag: string, from: number, to: number): Promise<string[]> {
  const proc = spawn(process.execPath, [FIXTURE, b.url('w'), tag, String(from), String(to)], {
    env: { ...process.env, ...b.env, AWS_ENDPOINT_URL: proxy.endpoint, HOME: tempDir(`home-${tag}`) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  proc.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  return new Promise((resolve, reject) =>
    proc.on('exit', (code) => {
      const lines = out.split('\n').filter(Boolean);
      if (code === 0 && lines.at(-1) === 'done') resolve(lines);
      else reject(new Error(`writer ${tag} exited ${code}: ${lines.slice(-3).join(' | ')} ${err}`));
    }),
  );
}

function options(walDir: string) {
  return {
    walDir,
    compactIntervalMs: 0,
    compactPoints: 0,
    partitionMs: 3_600_000,
    storage: {
      s3: {
        endpoint: proxy.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: TEST_CREDENTIALS,
      },
    },
  };
}

/** What a reader elsewhere sees: the published segments only. */
async function published(b: TestBucket, variable: string): Promise<number[]> {
  const reader = await TimeSeriesStore.open(b.url('w'), {
    ...options(path.join(tempDir('cas-reader'), 'wal')),
    readOnly: true,
    readWalTail: false,
  });
  try {
    return (await reader.queryAll(variable)).map((p) => p.value as number);
  } finally {
    await reader.close();
  }
}

async function storedManifest(b: TestBucket): Promise<Manifest> {
  const out = await b.client.send(new GetObjectCommand({ Bucket: b.bucket, Key: `w/${MANIFEST_KEY}` }));
  return JSON.parse(await (out.Body?.transformToString() ?? '')) as Manifest;
}

/** The segment files the stored manifest names (files of many variables once, by key). */
async function namedKeys(b: TestBucket): Promise<string[]> {
  return [...new Set(decodeManifest(await storedManifest(b)).segments.map((s) => s.key))].sort();
}

async function segmentKeys(b: TestBucket): Promise<string[]> {
  const out = await b.client.send(new ListObjectsV2Command({ Bucket: b.bucket, Prefix: 'w/segments/' }));
  return (out.Contents ?? []).map((o) => (o.Key ?? '').slice('w/'.length)).sort();
}

/** Another writer's publish, straight to the server: the current manifest with one more writer named. */
async function intrude(b: TestBucket, n: number): Promise<void> {
  const current = await storedManifest(b).catch(
    () => ({ version: 1, compactedSeq: 0, segments: [] }) as unknown as Manifest,
  );
  const next = {
    ...current,
    writers: { ...current.writers, intruder: n },
    updatedAt: new Date().toISOString(),
  };
  await b.client.send(
    new PutObjectCommand({ Bucket: b.bucket, Key: `w/${MANIFEST_KEY}`, Body: JSON.stringify(next) }),
  );
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const manifestPuts = (b: TestBucket) => proxy.puts.filter((p) => p.path === `${b.bucket}/w/${MANIFEST_KEY}`);

describe('many writers without a lease, on S3 that honours conditional writes', () => {
  it('4 writer processes × 6,000 points, separate homes, compacting at random: every point exactly once, no orphans', async () => {
    const b = await freshBucket('cas-writers');
    const tags = ['c0', 'c1', 'c2', 'c3'];
    // Each publish is held 100 ms before it is decided: runs overlap, and races are lost.
    proxy.beforeConditionalPut = async (p) => {
      if (p.startsWith(`${b.bucket}/`) && p.endsWith(MANIFEST_KEY))
        await new Promise((r) => setTimeout(r, 100));
    };
    const outputs = await Promise.all(tags.map((tag) => runWriter(b, tag, 0, 6_000))).finally(() => {
      proxy.beforeConditionalPut = undefined;
    });
    for (const lines of outputs) expect(lines.some((l) => l.startsWith('refused'))).toBe(false);
    for (const tag of tags) expect(await published(b, `w-${tag}`), tag).toEqual(range(0, 6_000));
    // Every publish was a compare-and-swap; losers dropped the segments they wrote.
    const puts = manifestPuts(b);
    expect(puts.length).toBeGreaterThan(3);
    // The manifest was created once (create-if-absent), then only ever replaced by If-Match.
    expect(puts[0]?.condition).toBe('If-None-Match');
    expect(puts.filter((p) => p.condition === 'If-None-Match' && p.status === 200)).toHaveLength(1);
    const manifest = await storedManifest(b);
    expect(await segmentKeys(b)).toEqual(await namedKeys(b));
    expect(Object.keys(manifest.writers ?? {}).length + 1).toBeGreaterThanOrEqual(4);
  }, 240_000);

  it('a lost race (another writer published between read and publish): the loser publishes nothing, keeps its log, and its next run succeeds', async () => {
    const b = await freshBucket('cas-lost');
    const walDir = path.join(tempDir('cas-lost'), 'wal');
    const a = await TimeSeriesStore.open(b.url('w'), options(walDir));
    try {
      await a.storeDataPoints(
        range(0, 1_000).map((i) => ({ variable: 'a', timestamp: T0 + i * 1000, value: i })),
      );
      // As a's publish reaches the server, writer process b appends, compacts and publishes first.
      let raced: Promise<string[]> | undefined;
      let afterRace = 0;
      proxy.beforeConditionalPut = async (p) => {
        // This test's bucket only: a writer of another test still running must not count.
        if (p !== `${b.bucket}/w/${MANIFEST_KEY}` || raced) return;
        raced = runWriter(b, 'b', 0, 1_000);
        await raced;
        afterRace = manifestPuts(b).length;
      };
      const result = await a.compact();
      proxy.beforeConditionalPut = undefined;
      expect(result.points).toBe(1_000);
      // b published while a's first publish (create-if-absent) waited; that one was refused, and
      // a's second run, on b's manifest, was published.
      expect(
        manifestPuts(b)
          .slice(0, afterRace)
          .every((p) => p.status === 200),
      ).toBe(true);
      expect(manifestPuts(b).slice(afterRace)).toEqual([
        expect.objectContaining({ condition: 'If-None-Match', status: 412 }),
        expect.objectContaining({ condition: 'If-Match', status: 200 }),
      ]);
      expect(await published(b, 'a')).toEqual(range(0, 1_000));
      expect(await published(b, 'w-b')).toEqual(range(0, 1_000));
      expect(await segmentKeys(b)).toEqual(await namedKeys(b));
    } finally {
      proxy.beforeConditionalPut = undefined;
      await a.close();
    }
  }, 120_000);

  it('a writer that loses every race gives up after 8 runs (E050): nothing published, its segments removed, its log and points kept; then it compacts', async () => {
    const b = await freshBucket('cas-always');
    const walDir = path.join(tempDir('cas-always'), 'wal');
    const a = await TimeSeriesStore.open(b.url('w'), options(walDir));
    try {
      await a.storeDataPoints(
        range(0, 500).map((i) => ({ variable: 'a', timestamp: T0 + i * 1000, value: i })),
      );
      let intrusions = 0;
      proxy.beforeConditionalPut = async (p) => {
        if (p === `${b.bucket}/w/${MANIFEST_KEY}`) await intrude(b, ++intrusions);
      };
      await expect(a.compact()).rejects.toMatchObject({
        code: 'E050',
        message: expect.stringMatching(/published the manifest first 8 times.*points stay in the log/),
      });
      proxy.beforeConditionalPut = undefined;
      expect(intrusions).toBe(8);
      const lost = await storedManifest(b);
      expect(lost.writers).toEqual({ intruder: 8 });
      expect(lost.segments).toEqual([]);
      expect(await segmentKeys(b)).toEqual([]);
      const stats = await a.stats();
      expect(stats.bufferedPoints).toBe(500);
      expect(stats.walFiles).toBeGreaterThan(0);
      expect((await a.queryAll('a')).map((p) => p.value)).toEqual(range(0, 500));
      // The race over, the same points are published once, into the other writer's manifest.
      expect((await a.compact()).points).toBe(500);
      expect(await published(b, 'a')).toEqual(range(0, 500));
      expect((await storedManifest(b)).writers?.intruder).toBe(8);
    } finally {
      proxy.beforeConditionalPut = undefined;
      await a.close();
    }
  }, 120_000);
  it('without a shared lease, a writer opening the store leaves fresh unnamed segments alone (another host may be about to publish them)', async () => {
    const b = await freshBucket('cas-orphans');
    const first = await TimeSeriesStore.open(b.url('w'), options(path.join(tempDir('cas-orphans-1'), 'wal')));
    await first.storeDataPoints([{ variable: 'v', timestamp: T0, value: 1 }]);
    await first.compact();
    await first.close();
    // A segment of a run in flight elsewhere: written, not yet named by a manifest.
    const inFlight = 'segments/var=v/window=20240101T000000/inflight-0000.parquet';
    await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: `w/${inFlight}`, Body: 'PAR1' }));
    const second = await TimeSeriesStore.open(
      b.url('w'),
      options(path.join(tempDir('cas-orphans-2'), 'wal')),
    );
    await second.close();
    expect(await segmentKeys(b)).toContain(inFlight);
  }, 60_000);
});
