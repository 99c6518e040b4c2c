import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/open.ts';
import { diffStorages, globMatcher, syncStorages } from '../../src/sync/sync.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';

const key = fc.constantFrom('a.txt', 'b/c.txt', 'b/d.tmp', 'e/f/g.csv', 'h', 'i/j.log');
const content = fc.constantFrom('', 'x', 'y', 'xy', 'yx');
const tree = fc.dictionary(key, content);

describe('sync diff properties', () => {
  it('the diff partitions keys exactly, and after a sync with --delete the trees are equal', async () => {
    await fc.assert(
      fc.asyncProperty(tree, tree, fc.boolean(), async (a, b, useExclude) => {
        const src = openStorage(`memory://p-${randomBytes(4).toString('hex')}`);
        const dst = openStorage(`memory://p-${randomBytes(4).toString('hex')}`);
        for (const [k, v] of Object.entries(a)) await src.put(k, v);
        for (const [k, v] of Object.entries(b)) await dst.put(k, v);
        const exclude = useExclude ? ['*.tmp'] : [];
        const keep = (k: string) => !useExclude || !k.endsWith('.tmp');
        const d = await diffStorages(src, dst, { cacheDir: false, exclude });
        const ka = Object.keys(a).filter(keep);
        const kb = Object.keys(b).filter(keep);
        expect([...d.srcOnly].sort()).toEqual(ka.filter((k) => !(k in b)).sort());
        expect([...d.dstOnly].sort()).toEqual(kb.filter((k) => !(k in a)).sort());
        expect([...d.modified].sort()).toEqual(ka.filter((k) => k in b && a[k] !== b[k]).sort());
        expect([...d.unchanged].sort()).toEqual(ka.filter((k) => k in b && a[k] === b[k]).sort());
        await syncStorages(src, dst, { cacheDir: false, exclude, delete: true });
        for (const k of ka) expect((await dst.get(k)).toString()).toBe(a[k]);
        for (const k of kb) if (!(k in a)) expect(await dst.exists(k)).toBe(false);
        const again = await syncStorages(src, dst, { cacheDir: false, exclude, delete: true });
        expect(again.uploaded).toEqual([]);
        expect(again.deleted).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('globs: slash patterns match the whole key, others the base name', () => {
    const m = globMatcher(['*.tmp', 'logs/**']);
    expect(m('a/b/c.tmp')).toBe(true);
    expect(m('logs/x/y.txt')).toBe(true);
    expect(m('a/logs/y.txt')).toBe(false);
    expect(m('a/b/c.txt')).toBe(false);
  });
});

describe('sha256 cache and racy local files', () => {
  it('a same-size rewrite within the same timestamp tick is still uploaded', async () => {
    const dir = tempDir('racy');
    const cacheDir = tempDir('racy-cache');
    const src = openStorage(dir);
    const dst = openStorage(`memory://racy-${randomBytes(4).toString('hex')}`);
    for (let round = 0; round < 20; round++) {
      const body = `v${String(round).padStart(3, '0')}`;
      writeFileSync(path.join(dir, 'f.txt'), body);
      const r = await syncStorages(src, dst, { cacheDir });
      expect(r.uploaded, `round ${round}`).toEqual(['f.txt']);
      expect((await dst.get('f.txt')).toString()).toBe(body);
    }
  });
});

describe('a failing copy', () => {
  it('stops new transfers, throws E070 naming the key, and the rerun finishes the rest', async () => {
    const src = openStorage(`memory://fail-src-${randomBytes(4).toString('hex')}`);
    const dst = openStorage(`memory://fail-dst-${randomBytes(4).toString('hex')}`);
    for (let i = 0; i < 10; i++) await src.put(`k${i}`, `v${i}`);
    let puts = 0;
    const flaky = {
      ...dst,
      put: async (...args: Parameters<typeof dst.put>) => {
        puts += 1;
        if (puts === 3) throw new Error('disk on fire');
        return dst.put(...args);
      },
    };
    await expect(syncStorages(src, flaky, { cacheDir: false, concurrency: 1 })).rejects.toMatchObject({
      code: 'E070',
      message: expect.stringMatching(/^Cannot copy k2 from .*: disk on fire/),
    });
    expect(puts).toBe(3);
    const r = await syncStorages(src, dst, { cacheDir: false });
    expect(r.uploaded).toEqual(['k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
  });
});
