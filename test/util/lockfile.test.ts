/**
 * Lock files are created with their text already in them (a temp file linked into place): of
 * takers racing for one, exactly one gets it; on a file system without hard links (some network
 * shares) an exclusive create stands in for the link.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createLockFile, readLockFile } from '../../src/util/lockfile.ts';
import { tempDir } from '../helpers/tmp.ts';

const hook = vi.hoisted(() => ({ linkFails: undefined as string | undefined }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const link = async (from: string, to: string) => {
    if (hook.linkFails)
      throw Object.assign(new Error(`${hook.linkFails}: operation not permitted, link`), {
        code: hook.linkFails,
      });
    return real.link(from, to);
  };
  return { ...real, link, default: { ...real, link } };
});

describe('createLockFile', () => {
  it('of 20 takers racing for one lock, one gets it, with its own text, and no temp file is left', async () => {
    // (That no taker ever reads it empty is shown across processes by writer-slots.test.ts: the
    // empty lock files of before let two writers share a slot there.)
    for (let round = 0; round < 10; round++) {
      const dir = tempDir(`lockfile-${round}`);
      const file = path.join(dir, 'WRITER_ID');
      const won = await Promise.all(
        Array.from({ length: 20 }, (_, i) => createLockFile(file, `${process.pid} t${i}`)),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
      expect((await readLockFile(file)).text).toBe(`${process.pid} t${won.indexOf(true)}`);
      expect(readdirSync(dir), 'no temp file left').toEqual(['WRITER_ID']);
    }
  });

  it('on a file system without hard links: an exclusive create, and the second taker gets false', async () => {
    const dir = tempDir('lockfile-nolink');
    const file = path.join(dir, 'WRITER_ID');
    hook.linkFails = 'EPERM';
    try {
      expect(await createLockFile(file, 'first')).toBe(true);
      expect(await createLockFile(file, 'second')).toBe(false);
    } finally {
      hook.linkFails = undefined;
    }
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['WRITER_ID']);
  });
});
