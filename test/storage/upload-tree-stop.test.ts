/**
 * `uploadTree` (behind `sluice storage upload`) stops at the first file that fails for good: no
 * queued file is started after the caller is told, files in flight are aborted (leaving nothing,
 * a put being atomic), and the error thrown is the failing file's, not an abort it caused.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { uploadTree } from '../../src/sync/upload-tree.ts';
import { tempDir } from '../helpers/tmp.ts';

function tree(n: number): string {
  const dir = tempDir('upload-stop-src');
  mkdirSync(path.join(dir, 'd'));
  for (let i = 0; i < n; i++)
    writeFileSync(path.join(dir, 'd', `f${String(i).padStart(2, '0')}.txt`), `file ${i}\n`);
  return dir;
}

/** A local storage whose put of `bad` fails with a permanent error, and whose other puts may wait. */
function faulty(bad: string, slowMs = 0) {
  const inner = createFsStorage({ root: tempDir('upload-stop-dst') });
  const started: string[] = [];
  const aborted: string[] = [];
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver);
      const put: Storage['put'] = async (key, body, options) => {
        started.push(key);
        if (key.endsWith(bad)) {
          // Later than the others' start, so they are in flight when it fails.
          if (slowMs > 0) await new Promise((r) => setTimeout(r, 100));
          throw new StorageError(`refused ${key}`, { context: { key } });
        }
        if (slowMs > 0) {
          await new Promise<void>((resolve, reject) => {
            if (options?.signal?.aborted) {
              aborted.push(key);
              reject(options.signal.reason);
              return;
            }
            const t = setTimeout(resolve, slowMs);
            options?.signal?.addEventListener('abort', () => {
              clearTimeout(t);
              aborted.push(key);
              reject(options.signal?.reason);
            });
          });
        }
        return target.put(key, body, options);
      };
      return put;
    },
  });
  return { storage, inner, started, aborted };
}

async function keysOf(storage: Storage): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of storage.list({ prefix: 'up/' })) if ('key' in e) keys.push(e.key);
  return keys;
}

describe('uploadTree after a file fails for good', () => {
  it('starts no queued file once one has failed, and throws that file’s error', async () => {
    const dir = tree(10);
    const { storage, inner, started } = faulty('f03.txt');
    const error = await uploadTree(dir, storage, 'up', { concurrency: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('up/d/f03.txt');
    // The failure was seen on f03, and nothing after it was tried, then or later.
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toEqual(['up/d/f00.txt', 'up/d/f01.txt', 'up/d/f02.txt', 'up/d/f03.txt']);
    const stored = await keysOf(inner);
    expect(stored.sort()).toEqual(['up/d/f00.txt', 'up/d/f01.txt', 'up/d/f02.txt']);
  });

  it('aborts files in flight, which leave no object behind', async () => {
    const dir = tree(6);
    const { storage, inner, started, aborted } = faulty('f00.txt', 5_000);
    const t0 = Date.now();
    const error = await uploadTree(dir, storage, 'up', { concurrency: 4 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(4_000); // not waiting for the slow puts to finish
    expect((error as Error).message).toContain('refused up/d/f00.txt');
    // f04 and f05 were queued behind the four in flight: never started.
    expect(started.every((k) => !k.endsWith('f04.txt') && !k.endsWith('f05.txt'))).toBe(true);
    expect(started).toHaveLength(4);
    expect(aborted.sort()).toEqual(['up/d/f01.txt', 'up/d/f02.txt', 'up/d/f03.txt']);
    const stored = await keysOf(inner);
    expect(stored).toEqual([]);
  });
});
