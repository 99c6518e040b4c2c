/**
 * A producer overwrites an object (a new version, a new ETag) while the poller handles it, over
 * real HTTP with the real AWS SDK. Behind a server that honours conditions (the conditional
 * proxy, as AWS S3), the new version is never archived or deleted unread: at every moment —
 * between the listing and the read, between the read and the archive copy, between the copy and
 * the delete, and before a broken object moves to failed/ — it stays where it is, and the next
 * poll queues all its records once. On a server that ignores conditions (the proxy passing them
 * through with its hooks, and s3rver itself) the behaviour is no worse than before: what the
 * answers reveal is still caught, and the one window left (between the copy and the delete) is
 * shown for what it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Poller } from '../../src/poller/poller.ts';
import { closeS3Clients } from '../../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { type ConditionalOp, type ConditionalS3, startConditionalS3 } from '../helpers/conditional-s3.ts';
import { freshBucket, s3Endpoint, s3Options, TEST_CREDENTIALS, type TestBucket } from '../helpers/s3.ts';
import { listKeys, scratchDirs } from './fixtures.ts';
import {
  expectNewVersionArchived,
  expectReplacedAfterQueued,
  outcomeCount,
  queueActingOnce,
  queueAndState,
  V1,
  V2,
} from './replaced-helpers.ts';

const scratch = scratchDirs('poll-replaced-s3');

interface Scene {
  b: TestBucket;
  /** The bucket straight on s3rver: the producer's writes never pass the proxy. */
  root: Storage;
  poller: Poller;
  qs: ReturnType<typeof queueAndState>;
  /** How often the injection ran (it must be once, at the moment named). */
  fired: () => number;
  /** The proxy's decisions about the watched object, as `op status`. */
  decisions: () => string[];
  close(): Promise<void>;
}

/**
 * A bucket with V1 at `in/x.jsonl` (or `body`), a poller reaching it through `proxy`, and the
 * producer's V2 written the first time the poller sends a conditional `op` request for it.
 */
async function scene(proxy: ConditionalS3, op: ConditionalOp, body = V1.body): Promise<Scene> {
  const b = await freshBucket(`replaced-${op}`);
  const root = openStorage(b.url(), s3Options());
  await root.put('in/x.jsonl', body);
  const qs = queueAndState(scratch(op), b.url('in/'));
  const watched = `${b.bucket}/in/x.jsonl`;
  let fired = 0;
  const start = proxy.decisions.length;
  proxy.beforeConditional = async (o, p) => {
    if (o === op && p === watched && fired++ === 0) await root.put('in/x.jsonl', V2.body);
  };
  const poller = new Poller({
    source: b.url('in/'),
    queue: qs.queue,
    state: qs.state,
    minAgeMs: 0,
    retryDelayMs: 10,
    storageOptions: {
      s3: {
        endpoint: proxy.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: TEST_CREDENTIALS,
      },
    },
  });
  return {
    b,
    root,
    poller,
    qs,
    fired: () => fired,
    decisions: () =>
      proxy.decisions
        .slice(start)
        .filter((d) => d.path === watched)
        .map((d) => `${d.op} ${d.status}`),
    async close() {
      proxy.beforeConditional = undefined;
      await poller.close();
      await qs.close();
    },
  };
}

const text = async (s: Storage, key: string) => (await s.get(key)).toString();

afterAll(async () => {
  await closeS3Clients();
});

describe('Poller: object replaced mid-handling, S3 that honours conditions (conditional proxy)', () => {
  let proxy: ConditionalS3;
  beforeAll(async () => {
    proxy = await startConditionalS3(s3Endpoint());
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('between the read and the archive copy: the new version stays, the next poll queues all its records', async () => {
    const s = await scene(proxy, 'copy');
    try {
      expectReplacedAfterQueued(await s.poller.pollOnce());
      expect(s.fired()).toBe(1);
      expect(s.decisions()).toEqual(['get 200', 'copy 412']);
      expect(await text(s.root, 'in/x.jsonl')).toBe(V2.body);
      expect(await listKeys(s.root, 'processed/')).toEqual([]);
      expect(await outcomeCount(s.poller, 'replaced')).toBe(1);

      expectNewVersionArchived(await s.poller.pollOnce());
      expect(s.decisions().slice(2)).toEqual(['get 200', 'copy 200', 'delete 200']);
      expect(await listKeys(s.root, 'in/')).toEqual([]);
      expect(await text(s.root, 'processed/x.jsonl')).toBe(V2.body);
      await s.qs.expectRecords([...V1.tags, ...V2.tags]);
    } finally {
      await s.close();
    }
  });

  it('between the archive copy and the delete: the old version is archived, the new one is not deleted and is read next', async () => {
    const s = await scene(proxy, 'delete');
    try {
      expectReplacedAfterQueued(await s.poller.pollOnce());
      expect(s.fired()).toBe(1);
      // The batched delete (DeleteObjects) carried the listed ETag; the server refused that key.
      expect(s.decisions()).toEqual(['get 200', 'copy 200', 'delete 412']);
      expect(await text(s.root, 'in/x.jsonl')).toBe(V2.body);
      expect(await text(s.root, 'processed/x.jsonl')).toBe(V1.body);

      expectNewVersionArchived(await s.poller.pollOnce());
      expect(await listKeys(s.root, 'in/')).toEqual([]);
      // processed/ keeps the latest version of each key, as for any re-upload.
      expect(await text(s.root, 'processed/x.jsonl')).toBe(V2.body);
      await s.qs.expectRecords([...V1.tags, ...V2.tags]);
    } finally {
      await s.close();
    }
  });

  it('between the listing and the read: the read is refused and skipped (no failure, not deferred); the next poll reads the new version', async () => {
    const s = await scene(proxy, 'get');
    try {
      expect(await s.poller.pollOnce()).toMatchObject({
        listed: 1,
        archived: 0,
        replaced: 0,
        failed: 0,
        deferred: 0,
        retries: 0,
        records: 0,
      });
      expect(s.fired()).toBe(1);
      expect(s.decisions()).toEqual(['get 412']);
      expect(await outcomeCount(s.poller, 'deferred')).toBe(0);

      expectNewVersionArchived(await s.poller.pollOnce());
      expect(await text(s.root, 'processed/x.jsonl')).toBe(V2.body);
      // V1 was overwritten by its producer before anyone read it: only V2's records exist.
      await s.qs.expectRecords(V2.tags);
    } finally {
      await s.close();
    }
  });

  it('a broken object replaced before it moves to failed/: nothing lands in failed/, the new version is read next', async () => {
    const s = await scene(proxy, 'copy', '{"name": "broken", "value": \n');
    try {
      expect(await s.poller.pollOnce()).toMatchObject({ listed: 1, failed: 0, replaced: 1, records: 0 });
      expect(s.fired()).toBe(1);
      expect(s.decisions()).toEqual(['get 200', 'copy 412']);
      // Its report is taken back: failed/ holds no report without its object.
      expect(await listKeys(s.root, 'failed/')).toEqual([]);
      expect(await text(s.root, 'in/x.jsonl')).toBe(V2.body);

      expectNewVersionArchived(await s.poller.pollOnce());
      expect(await text(s.root, 'processed/x.jsonl')).toBe(V2.body);
      await s.qs.expectRecords(V2.tags);
    } finally {
      await s.close();
    }
  });
});

describe('Poller: object replaced mid-handling, S3 that ignores conditions (as s3rver)', () => {
  let proxy: ConditionalS3;
  beforeAll(async () => {
    proxy = await startConditionalS3(s3Endpoint(), { honour: false });
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('between the read and the copy: the copy of the new version is found out by its ETag, and the new version is kept and read next', async () => {
    const s = await scene(proxy, 'copy');
    try {
      expectReplacedAfterQueued(await s.poller.pollOnce());
      expect(s.fired()).toBe(1);
      expect(s.decisions()).toEqual(['get 200', 'copy 200']);
      expect(await text(s.root, 'in/x.jsonl')).toBe(V2.body);
      expectNewVersionArchived(await s.poller.pollOnce());
      expect(await listKeys(s.root, 'in/')).toEqual([]);
      expect(await text(s.root, 'processed/x.jsonl')).toBe(V2.body);
      await s.qs.expectRecords([...V1.tags, ...V2.tags]);
    } finally {
      await s.close();
    }
  });

  it('between the listing and the read: the answer names another ETag, so the read is skipped and the next poll reads the new version', async () => {
    const s = await scene(proxy, 'get');
    try {
      expect(await s.poller.pollOnce()).toMatchObject({ listed: 1, archived: 0, deferred: 0, records: 0 });
      expect(s.fired()).toBe(1);
      expectNewVersionArchived(await s.poller.pollOnce());
      await s.qs.expectRecords(V2.tags);
    } finally {
      await s.close();
    }
  });

  it('between the copy and the delete (≤ 50 ms plus a request): the server deletes the new version unread — the window left, as before', async () => {
    const s = await scene(proxy, 'delete');
    try {
      expect(await s.poller.pollOnce()).toMatchObject({
        listed: 1,
        archived: 1,
        replaced: 0,
        records: V1.tags.length,
      });
      expect(s.fired()).toBe(1);
      expect(await listKeys(s.root, 'in/')).toEqual([]);
      expect(await text(s.root, 'processed/x.jsonl')).toBe(V1.body);
      expect(await s.poller.pollOnce()).toMatchObject({ listed: 0, records: 0 });
      await s.qs.expectRecords(V1.tags);
    } finally {
      await s.close();
    }
  });
});

describe('Poller: object replaced mid-handling, plain s3rver (no proxy)', () => {
  it('replaced while its records are queued: the archive copy is found to be of another version, and the new version is read next', async () => {
    const b = await freshBucket('replaced-plain');
    const root = openStorage(b.url(), s3Options());
    await root.put('in/x.jsonl', V1.body);
    const qs = queueAndState(scratch('plain'), b.url('in/'));
    const acting = queueActingOnce(qs.queue, async () => {
      await root.put('in/x.jsonl', V2.body);
    });
    const poller = new Poller({
      source: b.url('in/'),
      queue: acting.queue,
      state: qs.state,
      minAgeMs: 0,
      storageOptions: s3Options(),
    });
    try {
      expectReplacedAfterQueued(await poller.pollOnce());
      expect(acting.fired()).toBe(1);
      expect(await text(root, 'in/x.jsonl')).toBe(V2.body);
      expectNewVersionArchived(await poller.pollOnce());
      expect(await listKeys(root, 'in/')).toEqual([]);
      expect(await text(root, 'processed/x.jsonl')).toBe(V2.body);
      await qs.expectRecords([...V1.tags, ...V2.tags]);
    } finally {
      await poller.close();
      await qs.close();
    }
  });
});
