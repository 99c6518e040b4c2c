import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { makeDirectory, syncDirectory } from '../../src/util/fsync-dir.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('directory fsync group commit', () => {
  it('shares one pending fsync between callers and starts a new one for later callers', async () => {
    const dir = tempDir('sluice-dirsync');
    writeFileSync(path.join(dir, 'a'), 'a');
    const first = syncDirectory(dir);
    const joined = syncDirectory(dir);
    expect(joined).toBe(first);
    await first;
    const later = syncDirectory(dir);
    expect(later).not.toBe(first);
    await later;
  });

  it('reports a failing fsync to every caller of its batch', async () => {
    const missing = path.join(tempDir('sluice-dirsync'), 'gone');
    const a = syncDirectory(missing);
    const b = syncDirectory(missing);
    await expect(a).rejects.toThrow();
    await expect(b).rejects.toThrow();
  });

  it('keeps 200 concurrent durable puts into one folder complete and readable', async () => {
    const storage = createFsStorage({ root: tempDir('sluice-dirsync') });
    await Promise.all(Array.from({ length: 200 }, (_, i) => storage.put(`d/f${i}.txt`, `v${i}`)));
    for (let i = 0; i < 200; i += 37) expect((await storage.get(`d/f${i}.txt`)).toString()).toBe(`v${i}`);
  });
});

describe('makeDirectory', () => {
  it('creates nested folders durably, is idempotent, and survives concurrent callers', async () => {
    const root = tempDir('sluice-mkdir');
    const deep = path.join(root, 'a', 'b', 'c');
    await Promise.all([
      makeDirectory(deep, true),
      makeDirectory(deep, true),
      makeDirectory(path.join(root, 'a', 'x'), true),
    ]);
    expect(existsSync(deep)).toBe(true);
    expect(existsSync(path.join(root, 'a', 'x'))).toBe(true);
    await makeDirectory(deep, true);
    await makeDirectory(path.join(root, 'plain', 'y'), false);
    expect(existsSync(path.join(root, 'plain', 'y'))).toBe(true);
  });

  it('fails with the mkdir error when a path component is a file', async () => {
    const root = tempDir('sluice-mkdir');
    writeFileSync(path.join(root, 'file'), 'x');
    await expect(makeDirectory(path.join(root, 'file', 'sub'), true)).rejects.toThrow(/ENOTDIR|EEXIST/);
  });

  it('a caller that finds folders another caller is still making durable waits for it', async () => {
    // 30 new nested folders: the first caller fsyncs 30 parents one after another, while the
    // second caller's mkdir finds everything made and, unless it waits, returns at once.
    const deep = path.join(tempDir('sluice-mkdir'), ...Array.from({ length: 30 }, (_, i) => `d${i}`));
    const at = { first: 0, second: 0 };
    await Promise.all([
      makeDirectory(deep, true).then(() => {
        at.first = performance.now();
      }),
      makeDirectory(deep, true).then(() => {
        at.second = performance.now();
      }),
    ]);
    expect(at.second).toBeGreaterThanOrEqual(at.first - 1);
  });
});
