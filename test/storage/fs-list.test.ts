import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { compareKeys } from '../../src/storage/keys.ts';
import { tempDir } from '../helpers/tmp.ts';

/** 600 files over three folders (more than two stat batches each in `big/`) plus nested ones. */
function tree(): { root: string; keys: string[] } {
  const root = tempDir('sluice-fslist');
  const keys: string[] = [];
  const put = (key: string, body: string) => {
    const file = path.join(root, ...key.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body);
    keys.push(key);
  };
  for (let i = 0; i < 520; i++) put(`big/f${i}.json`, 'x'.repeat(i % 7));
  for (let i = 0; i < 40; i++) put(`a-b/f${i}`, 'y');
  for (let i = 0; i < 40; i++) put(`a/deep/er/f${i}`, 'z');
  return { root, keys: keys.sort(compareKeys) };
}

afterEach(() => vi.restoreAllMocks());

describe('fs listing', () => {
  it('lists every file once, in key order, with sizes, across stat batches', async () => {
    const { root, keys } = tree();
    const storage = createFsStorage({ root });
    const seen: { key: string; size: number }[] = [];
    for await (const e of storage.list()) if (e.type === 'object') seen.push({ key: e.key, size: e.size });
    expect(seen.map((e) => e.key)).toEqual(keys);
    expect(seen.find((e) => e.key === 'big/f13.json')?.size).toBe(6);
    // startAfter inside a batch resumes exactly after that key.
    const after: string[] = [];
    for await (const e of storage.list({ startAfter: 'big/f300.json' }))
      if (e.type === 'object') after.push(e.key);
    expect(after).toEqual(keys.filter((k) => compareKeys(k, 'big/f300.json') > 0));
  });

  it('switches to asynchronous stats when a batch is slow, and still lists everything', async () => {
    const { root, keys } = tree();
    // Every clock reading 50 ms later than the last: the first batch looks slow (a network mount).
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += 50));
    const seen: string[] = [];
    for await (const e of createFsStorage({ root }).list()) if (e.type === 'object') seen.push(e.key);
    expect(seen).toEqual(keys);
  });

  it('describes each file as it is when yielded, even when the consumer is slow (poller min-age)', async () => {
    const root = tempDir('sluice-fslist');
    for (let i = 0; i < 10; i++) writeFileSync(path.join(root, `f${i}`), 'x'.repeat(8));
    const seen = new Map<string, number>();
    for await (const e of createFsStorage({ root }).list()) {
      if (e.type !== 'object') continue;
      seen.set(e.key, e.size);
      if (e.key === 'f0') {
        // While the consumer waits, another program appends to a file listed later.
        await new Promise((r) => setTimeout(r, 60));
        appendFileSync(path.join(root, 'f5'), 'y'.repeat(8));
      }
    }
    expect(seen.get('f5')).toBe(16);
    expect(seen.get('f4')).toBe(8);
  });
});
