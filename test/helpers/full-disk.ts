/**
 * A real full disk for tests: a small tmpfs mounted (as root) in a temp folder, filled with a
 * filler file until the kernel answers ENOSPC, and freed again by shrinking or deleting it.
 * Without root (CAP_SYS_ADMIN) the mount is refused and the test fails saying why; it is not
 * skipped and no fake file system stands in for the kernel.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './tmp.ts';

/** A tmpfs at `dir`; throws with the reason when this machine will not mount one. */
export function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(
      `cannot mount a tmpfs at ${dir} (${(res.stderr || res.error?.message || '').trim()}): the disk-full and read-only tests need root with CAP_SYS_ADMIN, as CI runs them`,
    );
  }
}

export function unmount(dir: string): void {
  if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
}

export interface FullDisk {
  /** The mount point: everything written under it lands on the small disk. */
  readonly dir: string;
  /**
   * Fills the disk with a filler file until a write fails with ENOSPC (throws if it never does),
   * then frees `leaveBytes` by shrinking the filler. Returns the ENOSPC error that was seen.
   */
  fill(leaveBytes?: number): NodeJS.ErrnoException;
  /** Deletes the filler: the space is back. */
  free(): void;
  /** Bytes still free on the disk. */
  available(): number;
}

/**
 * A tmpfs of `size` (e.g. '8m') mounted for the tests of the calling file (beforeAll) and
 * unmounted after them (afterAll).
 */
export function useFullDisk(label: string, size = '8m'): FullDisk {
  const dir = path.join(tempDir(label), 'disk');
  const filler = path.join(dir, 'filler.bin');
  beforeAll(() => mountTmpfs(dir, `size=${size}`));
  afterAll(() => unmount(dir));
  return {
    dir,
    fill(leaveBytes = 0) {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(64 * 1024, 0x78);
      try {
        // A short write fills the last page; the write after it is refused.
        for (let written = 0; written < 2 ** 34; ) {
          try {
            written += writeSync(fd, block);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
            if (leaveBytes > 0) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leaveBytes));
            return error as NodeJS.ErrnoException;
          }
        }
        throw new Error(`the disk at ${dir} never reported ENOSPC: it is not full`);
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    available() {
      const st = statfsSync(dir);
      return st.bavail * st.bsize;
    },
  };
}
