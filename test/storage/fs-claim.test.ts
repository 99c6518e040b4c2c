/**
 * The fs driver's conditional delete and move (drivers/fs/claim.ts) with another writer slipping
 * in at each moment the disk leaves open: after the stat of the name, after the rename to the
 * claim name, after a move's target is written. Whatever the interleaving, no version a writer
 * published is lost unless a newer put replaced it (as any put replaces what it overwrites),
 * the version checked is the only one removed or moved, and no claim file is left behind.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ClaimMoment, deleteIfMatch, moveIfMatch } from '../../src/storage/drivers/fs/claim.ts';
import type { FsContext } from '../../src/storage/drivers/fs/context.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { createSidecarStore } from '../../src/storage/drivers/fs/meta.ts';
import type { Storage } from '../../src/storage/types.ts';
import { tempDir } from '../helpers/tmp.ts';
import { failure } from './conditional-ops-conformance.ts';

const scratch = tempDir('fs-claim');

function fresh(): { ctx: FsContext; storage: Storage; root: string } {
  const root = mkdtempSync(path.join(scratch, 'r-'));
  return {
    root,
    ctx: { root, durable: true, sidecars: createSidecarStore(root, true) },
    storage: createFsStorage({ root }),
  };
}

/** A race hook that runs `act` the first time `moment` comes, and counts it. */
function at(moment: ClaimMoment, act: () => Promise<void>) {
  const hook = async (m: ClaimMoment) => {
    hook.seen.push(m);
    if (m === moment && hook.fired++ === 0) await act();
  };
  hook.fired = 0;
  hook.seen = [] as ClaimMoment[];
  return hook;
}

/** Every name in the folder, hidden ones included: no claim or temp file may stay. */
const namesIn = (dir: string) => readdirSync(dir).sort();

describe('fs conditional delete (claim, check, put back)', () => {
  it('no race: the version checked is removed, with its metadata sidecar', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}', { metadata: { origin: 'one' } });
    const hook = at('claimed', async () => {});
    await deleteIfMatch(ctx, 'in/a.json', v1.etag, hook);
    expect(hook.seen).toEqual(['checked', 'claimed']);
    expect(await storage.exists('in/a.json')).toBe(false);
    expect(namesIn(path.join(root, 'in'))).toEqual([]);
    // A new object at the key does not inherit the removed one's metadata.
    await storage.put('in/a.json', '{"v":2}');
    expect((await storage.stat('in/a.json')).metadata).toEqual({});
  });

  it('replaced after the check, before the claim: that version is put back under its name, E015', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}');
    let v2etag = '';
    const hook = at('checked', async () => {
      v2etag = (await storage.put('in/a.json', '{"v":2,"newer":true}', { metadata: { origin: 'two' } })).etag;
    });
    const error = await failure(deleteIfMatch(ctx, 'in/a.json', v1.etag, hook));
    expect(hook.fired).toBe(1);
    expect(error.code).toBe('E015');
    expect(error.message).toContain(v1.etag);
    // The same file (inode, mtime) is back, so its ETag and metadata are those it was written with.
    expect(await storage.getWithEtag('in/a.json')).toEqual({
      body: Buffer.from('{"v":2,"newer":true}'),
      etag: v2etag,
    });
    expect((await storage.stat('in/a.json')).metadata).toEqual({ origin: 'two' });
    expect(namesIn(path.join(root, 'in'))).toEqual(['a.json']);
  });

  it('replaced before the claim and again after it: the newest stays, the middle one is dropped as its overwrite would, E015', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}');
    let v3etag = '';
    const hook = async (m: ClaimMoment) => {
      if (m === 'checked') await storage.put('in/a.json', '{"v":2}');
      if (m === 'claimed') v3etag = (await storage.put('in/a.json', '{"v":3,"newest":true}')).etag;
    };
    expect((await failure(deleteIfMatch(ctx, 'in/a.json', v1.etag, hook))).code).toBe('E015');
    expect(await storage.getWithEtag('in/a.json')).toEqual({
      body: Buffer.from('{"v":3,"newest":true}'),
      etag: v3etag,
    });
    expect(namesIn(path.join(root, 'in'))).toEqual(['a.json']);
  });

  it('a version written after the claim is never removed: only the version checked goes', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}');
    let v2etag = '';
    const hook = at('claimed', async () => {
      v2etag = (await storage.put('in/a.json', '{"v":2,"newer":true}', { metadata: { origin: 'two' } })).etag;
    });
    await deleteIfMatch(ctx, 'in/a.json', v1.etag, hook);
    expect(hook.fired).toBe(1);
    expect(await storage.getWithEtag('in/a.json')).toEqual({
      body: Buffer.from('{"v":2,"newer":true}'),
      etag: v2etag,
    });
    // Its sidecar is its own, not removed with the claimed file.
    expect((await storage.stat('in/a.json')).metadata).toEqual({ origin: 'two' });
    expect(namesIn(path.join(root, 'in'))).toEqual(['a.json']);
  });

  it('removed by someone else after the check: gone is success', async () => {
    const { ctx, storage } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}');
    await deleteIfMatch(
      ctx,
      'in/a.json',
      v1.etag,
      at('checked', () => storage.delete('in/a.json')),
    );
    expect(await storage.exists('in/a.json')).toBe(false);
  });
});

describe('fs conditional move (link, check, rename, then a conditional delete)', () => {
  it('no race: the version checked is at the target with its metadata, the source is gone', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}', { metadata: { origin: 'one' } });
    const hook = at('moved', async () => {});
    await moveIfMatch(ctx, 'in/a.json', 'processed/a.json', v1.etag, hook);
    expect(hook.seen).toEqual(['checked', 'moved', 'checked', 'claimed']);
    expect(await storage.exists('in/a.json')).toBe(false);
    expect(await storage.getWithEtag('processed/a.json')).toEqual({
      body: Buffer.from('{"v":1}'),
      etag: v1.etag,
    });
    expect((await storage.stat('processed/a.json')).metadata).toEqual({ origin: 'one' });
    expect(namesIn(path.join(root, 'in'))).toEqual([]);
  });

  it('replaced before the link: nothing moves, E015, the new version stays at the source', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}');
    const hook = at('checked', async () => {
      await storage.put('in/a.json', '{"v":2,"newer":true}');
    });
    expect((await failure(moveIfMatch(ctx, 'in/a.json', 'processed/a.json', v1.etag, hook))).code).toBe(
      'E015',
    );
    expect(hook.fired).toBe(1);
    expect((await storage.get('in/a.json')).toString()).toBe('{"v":2,"newer":true}');
    expect(await storage.exists('processed/a.json')).toBe(false);
    expect(namesIn(path.join(root, 'in'))).toEqual(['a.json']);
  });

  it('replaced once the target is written: the version checked is archived, the new one stays at the source, E015', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}');
    let v2etag = '';
    const hook = at('moved', async () => {
      v2etag = (await storage.put('in/a.json', '{"v":2,"newer":true}')).etag;
    });
    expect((await failure(moveIfMatch(ctx, 'in/a.json', 'processed/a.json', v1.etag, hook))).code).toBe(
      'E015',
    );
    expect(hook.fired).toBe(1);
    expect((await storage.get('processed/a.json')).toString()).toBe('{"v":1}');
    expect(await storage.getWithEtag('in/a.json')).toEqual({
      body: Buffer.from('{"v":2,"newer":true}'),
      etag: v2etag,
    });
    expect(namesIn(path.join(root, 'in'))).toEqual(['a.json']);
  });

  it('replaced between the source check and its claim: put back, E015, both versions kept', async () => {
    const { ctx, storage, root } = fresh();
    const v1 = await storage.put('in/a.json', '{"v":1}');
    let checks = 0;
    const hook = async (m: ClaimMoment) => {
      // The second check is the conditional delete's, after the target is written.
      if (m === 'checked' && ++checks === 2) await storage.put('in/a.json', '{"v":2,"newer":true}');
    };
    expect((await failure(moveIfMatch(ctx, 'in/a.json', 'processed/a.json', v1.etag, hook))).code).toBe(
      'E015',
    );
    expect((await storage.get('processed/a.json')).toString()).toBe('{"v":1}');
    expect((await storage.get('in/a.json')).toString()).toBe('{"v":2,"newer":true}');
    expect(namesIn(path.join(root, 'in'))).toEqual(['a.json']);
  });
});
