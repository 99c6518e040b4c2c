// The sync hash cache: what a later sync trusts, what survives a save, and that old (version 1)
// and damaged cache files never make sync trust a wrong hash.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HashCache } from '../../src/sync/hash-cache.ts';
import { tempDir } from '../helpers/tmp.ts';

const URL_A = 's3://bucket/a/';
const fileFor = (dir: string, url: string) =>
  path.join(dir, `${createHash('sha1').update(url).digest('hex')}.json`);

describe('HashCache', () => {
  it('trusts a hash only for the same etag and size, and keeps it across a save', async () => {
    const dir = tempDir('hash-cache');
    const cache = await HashCache.open(URL_A, dir);
    cache.set('x/1', 'etag1', 10, 'h1', 1_000);
    cache.set('x/2', 'etag2', 20, 'h2', 1_000);
    cache.set('x/1', 'etag1b', 11, 'h1b', 2_000);
    cache.delete('x/2');
    expect(cache.get('x/1', 'etag1b', 11)).toBe('h1b');
    expect(cache.get('x/1', 'etag1', 10)).toBeUndefined();
    await cache.save(URL_A);
    const again = await HashCache.open(URL_A, dir);
    expect(again.get('x/1', 'etag1b', 11)).toBe('h1b');
    expect(again.get('x/1', 'etag1b', 12)).toBeUndefined();
    expect(again.get('x/2', 'etag2', 20)).toBeUndefined();
    expect(again.sortedKeys()).toEqual(['x/1']);
    expect(JSON.parse(readFileSync(fileFor(dir, URL_A), 'utf8'))).toMatchObject({ v: 2, keys: ['x/1'] });
  });

  it('does not trust a local file modified within its timestamp tick of being hashed', async () => {
    const cache = await HashCache.open(URL_A, false);
    cache.set('f', 'e', 1, 'h', 10_050);
    // Sub-second mtimes: a 100 ms window.
    expect(cache.get('f', 'e', 1, new Date(9_999))).toBeUndefined();
    expect(cache.get('f', 'e', 1, new Date(9_900))).toBe('h');
    // Whole-second mtimes suggest a coarse clock: a 2 s window.
    expect(cache.get('f', 'e', 1, new Date(9_000))).toBeUndefined();
    expect(cache.get('f', 'e', 1, new Date(8_000))).toBe('h');
  });

  it('reads version 1 files, and rewrites them as version 2 on the next change', async () => {
    const dir = tempDir('hash-cache-v1');
    writeFileSync(
      fileFor(dir, URL_A),
      JSON.stringify({
        url: URL_A,
        entries: { 'b/2': { e: 'e2', s: 2, h: 'h2', t: 5 }, 'a/1': { e: 'e1', s: 1, h: 'h1', t: 5 } },
      }),
    );
    const cache = await HashCache.open(URL_A, dir);
    expect(cache.get('a/1', 'e1', 1)).toBe('h1');
    expect(cache.sortedKeys()).toEqual(['a/1', 'b/2']);
    expect(cache.pending).toBe(0);
    cache.set('c/3', 'e3', 3, 'h3');
    await cache.save(URL_A);
    const again = await HashCache.open(URL_A, dir);
    expect([again.get('a/1', 'e1', 1), again.get('b/2', 'e2', 2), again.get('c/3', 'e3', 3)]).toEqual([
      'h1',
      'h2',
      'h3',
    ]);
  });

  it('starts empty from a damaged, foreign or torn file', async () => {
    const dir = tempDir('hash-cache-bad');
    const torn = {
      url: URL_A,
      v: 2,
      keys: ['a', 'b'],
      etags: ['e'],
      sizes: [1, 1],
      hashes: ['h', 'h'],
      times: [1, 1],
    };
    for (const content of [
      '{"url": "s3://bucket/a/", "v": 2, "keys": [',
      JSON.stringify(torn),
      JSON.stringify({ ...torn, url: 's3://other/' }),
      'null',
    ]) {
      writeFileSync(fileFor(dir, URL_A), content);
      const cache = await HashCache.open(URL_A, dir);
      expect(cache.sortedKeys(), content).toBeUndefined();
      expect(cache.get('a', 'e', 1)).toBeUndefined();
    }
  });
});
