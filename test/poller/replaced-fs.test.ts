/**
 * A producer replaces a watched file (an atomic put: a new file renamed over the name, a new
 * ETag) while the poller handles it, on local disk. Injected at the exact moment — between the
 * read and the archive (the first addBulk, through a queue that acts once), and between the
 * listing and the read (the claim, through a state store that acts once) — the new version is
 * never moved to processed/ unread: the next poll queues all its records once.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Poller } from '../../src/poller/poller.ts';
import type { PollerStateStore } from '../../src/poller/state.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys, scratchDirs } from './fixtures.ts';
import {
  expectNewVersionArchived,
  expectReplacedAfterQueued,
  outcomeCount,
  queueActingOnce,
  queueAndState,
  V1,
  V2,
  withMethod,
} from './replaced-helpers.ts';

const scratch = scratchDirs('poll-replaced-fs');

function setup(label: string) {
  const dir = scratch(label);
  const watched = path.join(dir, 'in');
  const store = openStorage(watched);
  const qs = queueAndState(dir, watched);
  return { watched, store, qs };
}

describe('Poller: file replaced mid-handling, local disk', () => {
  it('between the read and the archive: the new version is not moved, the next poll queues all its records', async () => {
    const { watched, store, qs } = setup('after-read');
    const v1 = await store.put('x.jsonl', V1.body);
    let v2etag = '';
    const acting = queueActingOnce(qs.queue, async () => {
      v2etag = (await store.put('x.jsonl', V2.body)).etag;
    });
    const poller = new Poller({ source: watched, queue: acting.queue, state: qs.state, minAgeMs: 0 });
    try {
      expectReplacedAfterQueued(await poller.pollOnce());
      expect(acting.fired()).toBe(1);
      expect(v2etag).not.toBe(v1.etag);
      expect(await store.getWithEtag('x.jsonl')).toEqual({ body: Buffer.from(V2.body), etag: v2etag });
      expect(await listKeys(store, 'processed/')).toEqual([]);
      // No claim or temp file beside it.
      expect(await listKeys(store, '')).toEqual(['x.jsonl']);
      expect(await outcomeCount(poller, 'replaced')).toBe(1);

      expectNewVersionArchived(await poller.pollOnce());
      expect(await listKeys(store, '')).toEqual(['processed/x.jsonl']);
      expect((await store.get('processed/x.jsonl')).toString()).toBe(V2.body);
      await qs.expectRecords([...V1.tags, ...V2.tags]);
    } finally {
      await poller.close();
      await qs.close();
    }
  });

  it('between the listing and the read: the read is refused and skipped (not deferred); the next poll reads the new version', async () => {
    const { watched, store, qs } = setup('before-read');
    await store.put('x.jsonl', V1.body);
    let fired = 0;
    const state = withMethod(qs.state, 'claim', (async (key, etag, leaseMs) => {
      if (fired++ === 0) await store.put('x.jsonl', V2.body);
      return qs.state.claim(key, etag, leaseMs);
    }) as PollerStateStore['claim']);
    const poller = new Poller({ source: watched, queue: qs.queue, state, minAgeMs: 0 });
    try {
      expect(await poller.pollOnce()).toMatchObject({
        listed: 1,
        archived: 0,
        replaced: 0,
        deferred: 0,
        failed: 0,
        retries: 0,
        records: 0,
      });
      expect(fired).toBe(1);
      expect(await outcomeCount(poller, 'deferred')).toBe(0);
      expect((await store.get('x.jsonl')).toString()).toBe(V2.body);

      expectNewVersionArchived(await poller.pollOnce());
      expect((await store.get('processed/x.jsonl')).toString()).toBe(V2.body);
      await qs.expectRecords(V2.tags);
    } finally {
      await poller.close();
      await qs.close();
    }
  });

  it('archived to another storage (processed is a URL): the same, through a conditional read and delete', async () => {
    const { watched, store, qs } = setup('cross');
    const archive = path.join(path.dirname(watched), 'archive');
    await store.put('d/x.jsonl', V1.body);
    const acting = queueActingOnce(qs.queue, async () => {
      await store.put('d/x.jsonl', V2.body);
    });
    const poller = new Poller({
      source: watched,
      queue: acting.queue,
      state: qs.state,
      minAgeMs: 0,
      processedPrefix: archive,
    });
    try {
      expectReplacedAfterQueued(await poller.pollOnce());
      expect(acting.fired()).toBe(1);
      expect((await store.get('d/x.jsonl')).toString()).toBe(V2.body);
      expectNewVersionArchived(await poller.pollOnce());
      expect(await listKeys(store, '')).toEqual([]);
      expect((await openStorage(archive).get('d/x.jsonl')).toString()).toBe(V2.body);
      await qs.expectRecords([...V1.tags, ...V2.tags]);
    } finally {
      await poller.close();
      await qs.close();
    }
  });
});
