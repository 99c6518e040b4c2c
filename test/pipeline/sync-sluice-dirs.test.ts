/**
 * Issue #20.2: a sync moves the user's data, never sluice's own folders. A local tree whose
 * objects carry metadata (its `_sluice/meta/`, a nested task root's `_sluice/`, a folder still
 * in the old `.sluice-meta` layout) syncs to S3 with no sluice-internal object in the bucket
 * (checked with the raw S3 client, which hides nothing), and to another local root without
 * copying `_sluice/`: the target keeps metadata of its own objects only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import { syncStorages } from '../../src/sync/sync.ts';
import { walkLocalFiles } from '../../src/sync/upload-tree.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { filesUnder, writeLegacyObject } from '../storage/legacy-meta.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const DATA = ['dev/landing/a.csv', 'dev/landing/b.json', 'old/legacy.csv', 'task/output/t.csv'];

/** A local root with metadata in every place sluice keeps it. */
async function treeWithMetadata(): Promise<string> {
  const root = tempDir('sync-sluice-src');
  const storage = createFsStorage({ root });
  await storage.put('dev/landing/a.csv', 'x\n1\n', { metadata: { sha256: sha256('x\n1\n'), rows: '1' } });
  await storage.put('dev/landing/b.json', '{"b":1}', { contentType: 'application/x-b' });
  // A task folder written through a storage rooted at it: its own _sluice/.
  await createFsStorage({ root: path.join(root, 'task') }).put('output/t.csv', 't\n', {
    metadata: { k: 'v' },
  });
  // The lake's own records and versions, which it keeps in the same reserved folder.
  await storage.put('_sluice/qa/manifest.json', '{"version":"v1"}');
  await storage.put('_sluice/qa/versions/v1/landing/a.csv', 'x\n1\n', {
    metadata: { sha256: sha256('x\n1\n') },
  });
  // A folder the old driver wrote: its sidecar sits beside the data until sluice migrates it.
  writeLegacyObject(path.join(root, 'old'), {
    key: 'legacy.csv',
    body: 'l\n',
    metadata: { sha256: sha256('l\n') },
  });
  expect(filesUnder(root).filter((f) => f.includes('_sluice/') || f.includes('.sluice-meta/'))).toHaveLength(
    9,
  );
  return root;
}

const sluiceOwn = (key: string) => key.split('/').some((s) => s === '_sluice' || s === '.sluice-meta');

describe('sync never moves sluice folders', () => {
  it('local tree → S3: the bucket holds the data and nothing of sluice', async () => {
    const root = await treeWithMetadata();
    const b = await freshBucket('sync-sluice');
    const dst = openStorage(b.url('lake/'), s3Options());
    const r = await syncStorages(openStorage(root), dst, { cacheDir: false });
    expect(r.uploaded).toEqual(DATA);
    const raw = await b.client.send(new ListObjectsV2Command({ Bucket: b.bucket }));
    const keys = (raw.Contents ?? []).map((o) => o.Key ?? '').sort();
    expect(keys).toEqual(DATA.map((k) => `lake/${k}`));
    expect(keys.filter(sluiceOwn)).toEqual([]);
    // The sha256 kept in the old layout was read (migrated on the way) and carried to S3.
    expect((await dst.stat('old/legacy.csv')).metadata.sha256).toBe(sha256('l\n'));
    // A second sync finds nothing to do.
    expect((await syncStorages(openStorage(root), dst, { cacheDir: false })).uploaded).toEqual([]);
    // Uploading the folder with `sluice storage put` walks the same files.
    expect((await walkLocalFiles(root)).map((f) => f.rel)).toEqual(DATA);
  });

  it('S3 → local: a _sluice/ another tool uploaded is not listed, not downloaded', async () => {
    const b = await freshBucket('sync-sluice-down');
    const src = openStorage(b.url(), s3Options());
    await src.put('data/x.csv', 'x\n');
    for (const key of [
      '_sluice/meta/data/x.csv.json',
      'data/.sluice-meta/x.csv.json',
      'nested/_sluice/meta/y.json',
    ])
      await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: key, Body: '{}' }));
    expect(await listKeys(src)).toEqual(['data/x.csv']);
    const down = tempDir('sync-sluice-down');
    const r = await syncStorages(src, openStorage(down), { cacheDir: false });
    expect(r.uploaded).toEqual(['data/x.csv']);
    expect(filesUnder(down).filter((f) => !f.startsWith('_sluice/'))).toEqual(['data/x.csv']);
  });

  it('local → local: _sluice/ is not copied; the target keeps its own objects metadata', async () => {
    const root = await treeWithMetadata();
    const dst = tempDir('sync-sluice-dst');
    const r = await syncStorages(openStorage(root), openStorage(dst), { cacheDir: false });
    expect(r.uploaded).toEqual(DATA);
    const files = filesUnder(dst);
    expect(files.filter((f) => !f.startsWith('_sluice/'))).toEqual(DATA);
    // Only sidecars of the target's own objects, written by the sync (their sha256): none of the source's.
    expect(files.filter((f) => f.startsWith('_sluice/'))).toEqual([
      '_sluice/meta/.migrated',
      ...DATA.map((k) => `_sluice/meta/${k}.json`),
    ]);
    for (const k of DATA) {
      const kept = JSON.parse(readFileSync(path.join(dst, '_sluice', 'meta', `${k}.json`), 'utf8'));
      expect(Object.keys(kept.metadata), k).toEqual(['sha256']);
    }
    expect(existsSync(path.join(dst, 'task', '_sluice'))).toBe(false);
    expect((await listKeys(openStorage(dst))).filter(sluiceOwn)).toEqual([]);
  });
});
