// ListOptions.expectedKeys through the S3 driver, a scoped view and a repeated sync, on s3rver:
// keys are relative to the storage, pages are asked ahead under the storage's own prefix, and a
// reader that stops early leaves no request running.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ListObjectsV2CommandInput, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { compareKeys } from '../../src/storage/keys.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import type { Storage } from '../../src/storage/types.ts';
import { syncStorages } from '../../src/sync/sync.ts';
import { freshBucket, s3Options, type TestBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

interface SentList {
  input: ListObjectsV2CommandInput;
  signal: AbortSignal | undefined;
}

/** Records every ListObjectsV2 any S3 client sends (the driver's clients included). */
function spyOnListings(): SentList[] {
  const sent: SentList[] = [];
  const send = S3Client.prototype.send;
  vi.spyOn(S3Client.prototype, 'send').mockImplementation(function (
    this: S3Client,
    ...args: Parameters<S3Client['send']>
  ) {
    const [command, options] = args as unknown as [
      { constructor: { name: string }; input: unknown },
      { abortSignal?: AbortSignal }?,
    ];
    if (command.constructor.name === 'ListObjectsV2Command')
      sent.push({ input: command.input as ListObjectsV2CommandInput, signal: options?.abortSignal });
    return (send as (...a: unknown[]) => Promise<unknown>).apply(this, args);
  } as S3Client['send']);
  return sent;
}

describe('expectedKeys on S3 storages', () => {
  let b: TestBucket;
  let root: Storage;
  const names = Array.from({ length: 2300 }, (_, i) => `n${String(i).padStart(5, '0')}`);

  beforeAll(async () => {
    b = await freshBucket('expected');
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(
        names
          .slice(i, i + 100)
          .map((n) =>
            b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: `base/sub/${n}`, Body: 'x' })),
          ),
      );
    }
    root = openStorage(b.url(), s3Options());
  }, 120_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => b.client.destroy());

  it('takes keys relative to the storage and asks ahead under its prefix', async () => {
    const store = openStorage(b.url('base/'), s3Options());
    const expected = names.map((n) => `sub/${n}`);
    const sent = spyOnListings();
    expect(await listKeys(store, { expectedKeys: expected })).toEqual(expected);
    expect(sent.map((s) => s.input.StartAfter)).toEqual([undefined, 'base/sub/n00999', 'base/sub/n01999']);
    // URL-encoded listings are asked for (keys XML cannot carry still list); s3rver ignores it.
    expect(sent.every((s) => s.input.EncodingType === 'url')).toBe(true);
  });

  it('works through a scoped view, and with a promise of keys', async () => {
    const view = root.scope('base');
    const expected = names.map((n) => `sub/${n}`);
    expect(await listKeys(view, { expectedKeys: expected })).toEqual(expected);
    const sent = spyOnListings();
    expect(await listKeys(view, { prefix: 'sub/', expectedKeys: Promise.resolve(expected) })).toEqual(
      expected,
    );
    expect(sent.filter((s) => s.input.ContinuationToken !== undefined)).toHaveLength(0);
  });

  it('aborts the requests still under way when the reader stops early', async () => {
    const store = openStorage(b.url('base/'), s3Options());
    const sent = spyOnListings();
    for await (const entry of store.list({ expectedKeys: names.map((n) => `sub/${n}`) })) {
      expect(entry).toMatchObject({ type: 'object', key: 'sub/n00000' });
      break;
    }
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.slice(1).every((s) => s.signal?.aborted)).toBe(true);
  });

  it('a repeated sync lists with the keys its hash cache saw, and still finds every change', async () => {
    const dir = tempDir('expected-sync');
    const files = Array.from({ length: 2100 }, (_, i) => `d${i % 7}/f${String(i).padStart(5, '0')}.txt`);
    for (const f of files) {
      mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
      writeFileSync(path.join(dir, f), f);
    }
    const src = openStorage(dir);
    const dst = openStorage(b.url('synced/'), s3Options());
    const cacheDir = tempDir('expected-cache');
    expect((await syncStorages(src, dst, { cacheDir })).uploaded).toHaveLength(files.length);
    const sent = spyOnListings();
    const again = await syncStorages(src, dst, { cacheDir });
    expect(again.uploaded).toEqual([]);
    expect(again.unchanged).toBe(files.length);
    expect(sent.some((s) => s.input.StartAfter !== undefined)).toBe(true);
    // A change on either side is still seen: the hint only decides which requests go out.
    const sorted = [...files].sort(compareKeys);
    writeFileSync(path.join(dir, sorted[1500] as string), 'changed!');
    await dst.delete(sorted[10] as string);
    const third = await syncStorages(src, dst, { cacheDir });
    expect(third.uploaded).toEqual([sorted[10], sorted[1500]].sort());
  }, 120_000);
});
