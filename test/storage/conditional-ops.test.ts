/**
 * `ifMatch` on get, copy, delete, deleteMany and move, on every driver: the shared suite on
 * memory, fs and S3 behind a server that honours the conditions (the conditional proxy, which
 * answers 412 as AWS S3 does: every refusal below is checked to be the server's); then what the
 * S3 driver still guarantees on a server that ignores them (s3rver itself).
 */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsStorage, createMemoryStorage, openStorage } from '../../src/storage/index.ts';
import type { Storage } from '../../src/storage/types.ts';
import { type ConditionalS3, startConditionalS3 } from '../helpers/conditional-s3.ts';
import { freshBucket, s3Endpoint, s3Options, TEST_CREDENTIALS, type TestBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { conditionalOpsConformance, failure, NO_SUCH_ETAG, text } from './conditional-ops-conformance.ts';

const viaProxy = (endpoint: string) => ({
  s3: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials: TEST_CREDENTIALS },
});

describe('conditional operations: memory', () => {
  conditionalOpsConformance(() => createMemoryStorage());
});

describe('conditional operations: fs', () => {
  const root = tempDir('cond-ops-fs');
  conditionalOpsConformance(() => createFsStorage({ root: mkdtempSync(path.join(root, 'r-')) }));
});

describe('conditional operations: local drivers read the version checked', () => {
  const root = tempDir('cond-ops-local');
  const drivers: [string, () => Storage][] = [
    ['memory', () => createMemoryStorage()],
    ['fs', () => createFsStorage({ root: mkdtempSync(path.join(root, 'r-')) })],
  ];
  for (const [name, open] of drivers) {
    it(`${name}: a stream opened with ifMatch keeps that version when the object is replaced before it is read`, async () => {
      const s = open();
      const v1 = await s.put('k.jsonl', '{"v":1}\n');
      const stream = await s.getStream('k.jsonl', { ifMatch: v1.etag });
      await s.put('k.jsonl', '{"v":2}\n{"v":3}\n');
      expect(await text(stream)).toBe('{"v":1}\n');
    });
  }
});

describe('conditional operations: S3 behind a server that honours them (conditional proxy)', () => {
  let proxy: ConditionalS3;
  let bucket: TestBucket;
  let n = 0;
  beforeAll(async () => {
    proxy = await startConditionalS3(s3Endpoint());
    bucket = await freshBucket('cond-ops');
  });
  afterAll(async () => {
    await proxy.close();
  });

  // A prefix per test, so the driver's rooting is exercised too.
  conditionalOpsConformance(() => openStorage(bucket.url(`t${n++}/`), viaProxy(proxy.endpoint)));

  it('every refusal is the server answering 412 to the request the SDK sent', async () => {
    const s = openStorage(bucket.url('server/'), viaProxy(proxy.endpoint));
    const v1 = await s.put('o.json', '{"v":1}');
    await s.put('o.json', '{"v":2,"longer":true}');
    const p = `${bucket.bucket}/server/o.json`;
    const before = proxy.decisions.length;
    await failure(s.get('o.json', { ifMatch: v1.etag }));
    await failure(s.copy('o.json', 'copy.json', { ifMatch: v1.etag }));
    await failure(s.delete('o.json', { ifMatch: v1.etag }));
    await failure(s.deleteMany([{ key: 'o.json', ifMatch: v1.etag }]));
    await failure(s.move('o.json', 'moved.json', { ifMatch: v1.etag }));
    expect(proxy.decisions.slice(before).map((d) => `${d.op} ${d.path} ${d.status}`)).toEqual([
      `get ${p} 412`,
      `copy ${p} 412`,
      `delete ${p} 412`,
      `delete ${p} 412`,
      `copy ${p} 412`,
    ]);
    // A conditional delete of a missing key: AWS answers 404, which is success (nothing to delete).
    await s.delete('missing.json', { ifMatch: NO_SUCH_ETAG });
    expect(proxy.decisions.at(-1)).toMatchObject({ op: 'delete', status: 404 });
  });

  it('a version written between a read and the conditional copy is refused (hook at the exact moment)', async () => {
    const s = openStorage(bucket.url('race/'), viaProxy(proxy.endpoint));
    const read = await s.getWithEtag((await s.put('r.json', '{"v":1}')).key);
    let fired = 0;
    proxy.beforeConditional = async (op, p) => {
      if (op !== 'copy' || p !== `${bucket.bucket}/race/r.json` || fired++ > 0) return;
      await s.put('r.json', '{"v":2,"newer":true}');
    };
    try {
      expect((await failure(s.move('r.json', 'archive/r.json', { ifMatch: read.etag }))).code).toBe('E015');
    } finally {
      proxy.beforeConditional = undefined;
    }
    expect(fired).toBe(1);
    expect((await s.get('r.json')).toString()).toBe('{"v":2,"newer":true}');
    expect(await s.exists('archive/r.json')).toBe(false);
  });
});

describe('conditional operations: S3 on a server that ignores them (s3rver)', () => {
  let s: Storage;
  beforeAll(async () => {
    s = openStorage((await freshBucket('cond-ops-ignored')).url('i/'), s3Options());
    expect(await s.conditionalWrites()).toBe(false);
  });

  it('a read with a stale ifMatch is still refused (E015), by the ETag of the answer, before a byte is returned', async () => {
    const v1 = await s.put('g.json', '{"v":1}');
    await s.put('g.json', '{"v":2,"longer":true}');
    const error = await failure(s.getStream('g.json', { ifMatch: v1.etag }));
    expect(error.code).toBe('E015');
    expect(error.message).toContain(v1.etag);
  });

  it('a copy with a stale ifMatch is found out afterwards (E015): the source is untouched, the target holds the newer version', async () => {
    const v1 = await s.put('c.json', '{"v":1}');
    await s.put('c.json', '{"v":2,"longer":true}');
    expect((await failure(s.copy('c.json', 'c-copy.json', { ifMatch: v1.etag }))).code).toBe('E015');
    expect((await s.get('c.json')).toString()).toBe('{"v":2,"longer":true}');
    // The server copied what it had: reported, not hidden.
    expect((await s.get('c-copy.json')).toString()).toBe('{"v":2,"longer":true}');
    // So a move stops before its delete: the newer version stays at its key.
    expect((await failure(s.move('c.json', 'c-moved.json', { ifMatch: v1.etag }))).code).toBe('E015');
    expect(await s.exists('c.json')).toBe(true);
  });

  it('a delete with a stale ifMatch deletes anyway: nothing in the answer tells (the limit docs/poller.md states)', async () => {
    const v1 = await s.put('d.json', '{"v":1}');
    await s.put('d.json', '{"v":2,"longer":true}');
    await s.delete('d.json', { ifMatch: v1.etag });
    expect(await s.exists('d.json')).toBe(false);
    const w1 = await s.put('e.json', '{"w":1}');
    await s.put('e.json', '{"w":2,"longer":true}');
    await s.deleteMany([{ key: 'e.json', ifMatch: w1.etag }]);
    expect(await s.exists('e.json')).toBe(false);
  });
});
