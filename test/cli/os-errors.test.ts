/**
 * OS errors a user causes, through the CLI, on real files and file systems: each is E011/E012
 * naming the user's path in plain words (never E099, Node's text, a temp file or a stack), and
 * nothing is left behind. Root ignores file modes, so as root the permission cases run the CLI
 * as `nobody`; full and read-only disks are small tmpfs mounts (root only: without it the tests
 * fail and say so, they are not skipped).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { mountTmpfs, unmount } from '../helpers/full-disk.ts';
import { tempDir } from '../helpers/tmp.ts';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65_534;

/** Runs sluice as a user file modes apply to: `nobody` when the tests run as root. */
function runUnprivileged(args: string[], home: string): Promise<CliResult> {
  if (!isRoot) return runSluice(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
      cwd: home,
      env: { ...process.env, HOME: home, SLUICE_LOG_LEVEL: 'warn', SLUICE_PROGRESS: '0' },
      uid: NOBODY,
      gid: NOBODY,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EACCES'
          ? new Error(
              `cannot run node as nobody (uid ${NOBODY}): ${process.execPath} or a folder above it is closed to other users (a checkout in a mktemp -d folder is 0700; .ci/run opens the checkout's own folder)`,
              { cause: error },
            )
          : error,
      ),
    );
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
}

/** What every such failure looks like: one line, the code, the path, the words; no Node text. */
function expectUserError(res: CliResult, code: 'E011' | 'E012', ...parts: (string | RegExp)[]): void {
  expect(res.code, res.stderr).toBe(1);
  expect(res.stderr).toMatch(new RegExp(`^${code}: `));
  for (const part of parts) {
    if (typeof part === 'string') expect(res.stderr).toContain(part);
    else expect(res.stderr).toMatch(part);
  }
  expect(res.stderr.trim().split('\n')).toHaveLength(1);
  expect(res.stderr).not.toMatch(
    /E099|\n\s+at |EACCES|ENOSPC|EROFS|ENOTDIR|EISDIR|sluice-tmp|internal error/,
  );
}

describe('OS errors in the user’s words, through the CLI', { timeout: 60_000 }, () => {
  const dir = tempDir('os-errors-cli');
  const input = path.join(dir, 'in.csv');
  beforeAll(() => {
    chmodSync(dir, 0o755);
    writeFileSync(input, 'a,b\n1,2\n3,4\n');
    chmodSync(input, 0o644);
  });

  describe('permission denied (EACCES)', () => {
    const unreadable = path.join(dir, 'unreadable.csv');
    const locked = path.join(dir, 'locked');
    const readOnly = path.join(dir, 'read-only');
    beforeAll(() => {
      writeFileSync(unreadable, 'a\n1\n');
      chmodSync(unreadable, 0o000);
      mkdirSync(locked);
      writeFileSync(path.join(locked, 'inside.csv'), 'a\n1\n');
      chmodSync(locked, 0o000);
      mkdirSync(readOnly);
      chmodSync(readOnly, 0o555);
    });
    afterAll(() => {
      // Without root the cleanup itself needs the modes back.
      chmodSync(locked, 0o755);
      chmodSync(readOnly, 0o755);
    });

    it('storage cat of an unreadable file and of a file in a locked folder', async () => {
      expectUserError(
        await runUnprivileged(['storage', 'cat', unreadable], dir),
        'E012',
        `permission denied: ${unreadable}`,
      );
      const inside = path.join(locked, 'inside.csv');
      expectUserError(
        await runUnprivileged(['storage', 'cat', inside], dir),
        'E012',
        `permission denied: ${inside}`,
      );
    });

    it('storage ls of a locked folder', async () => {
      expectUserError(
        await runUnprivileged(['storage', 'ls', locked], dir),
        'E012',
        `permission denied: ${locked}`,
      );
    });

    it('storage put, convert and write into a read-only folder leave it empty', async () => {
      const target = path.join(readOnly, 'x.csv');
      expectUserError(
        await runUnprivileged(['storage', 'put', input, target], dir),
        'E012',
        `permission denied: ${target}`,
      );
      const out = path.join(readOnly, 'out.parquet');
      expectUserError(
        await runUnprivileged(['convert', input, out], dir),
        'E012',
        `permission denied: ${out}`,
      );
      const task = path.join(readOnly, 'task');
      expectUserError(
        await runUnprivileged(['write', input, '--task-dir', task, '--name', 'x'], dir),
        'E012',
        `permission denied: ${task}`,
      );
      expect(readdirSync(readOnly)).toEqual([]);
    });

    it('ts append into a read-only folder', async () => {
      const store = path.join(readOnly, 'store');
      expectUserError(
        await runUnprivileged(['ts', 'append', store, 'v', '1'], dir),
        'E012',
        `permission denied: ${store}`,
      );
    });
  });

  describe('a folder where a file is expected (EISDIR)', () => {
    const folder = path.join(dir, 'a-folder');
    beforeAll(() => mkdirSync(path.join(folder, 'out.csv'), { recursive: true }));

    it('storage cat and storage put of a folder', async () => {
      expectUserError(
        await runSluice(['storage', 'cat', folder]),
        'E012',
        `${folder} is a directory, not a file`,
      );
      expectUserError(
        await runSluice(['storage', 'put', input, folder]),
        'E012',
        `${folder} is a directory, not a file`,
      );
    });

    it('convert to an output path that is a folder', async () => {
      const out = path.join(folder, 'out.csv');
      expectUserError(await runSluice(['convert', input, out]), 'E012', `${out} is a directory, not a file`);
      expect(readdirSync(out)).toEqual([]);
    });
  });

  describe('a file where a folder is expected (ENOTDIR)', () => {
    const file = path.join(dir, 'a-file');
    beforeAll(() => writeFileSync(file, 'not a folder'));

    it('storage cat and storage ls name the file in the way', async () => {
      expectUserError(
        await runSluice(['storage', 'cat', path.join(file, 'x.csv')]),
        'E011',
        `${path.join(file, 'x.csv')} does not exist: ${file} is not a directory`,
      );
      expectUserError(await runSluice(['storage', 'ls', file]), 'E011', `${file} is a file, not a folder`);
    });

    it('storage put, convert and ts append under a file', async () => {
      const target = path.join(file, 'sub', 'x.csv');
      expectUserError(
        await runSluice(['storage', 'put', input, target]),
        'E012',
        `cannot write ${target}: ${file} is not a directory`,
      );
      expectUserError(
        await runSluice(['convert', input, path.join(file, 'out.parquet')]),
        'E012',
        `${file} is not a directory`,
      );
      expectUserError(
        await runSluice(['ts', 'append', file, 'v', '1']),
        'E012',
        `${file} is not a directory`,
      );
    });
  });

  describe('a full disk (ENOSPC)', () => {
    const full = path.join(dir, 'full');
    const big = path.join(dir, 'big.csv');
    beforeAll(() => {
      mountTmpfs(full, 'size=64k');
      writeFileSync(big, `a,b\n${Array.from({ length: 20_000 }, (_, i) => `${i},${i * 7}`).join('\n')}\n`);
    });
    afterAll(() => unmount(full));

    it('storage put and convert say "disk full" naming the output, and leave no temp file', async () => {
      const target = path.join(full, 'big.csv');
      expectUserError(
        await runSluice(['storage', 'put', big, target]),
        'E012',
        `disk full writing ${target}`,
      );
      const out = path.join(full, 'out.csv');
      expectUserError(await runSluice(['convert', big, out]), 'E012', `disk full writing ${out}`);
      // No output, no temp file: only the lineage log, which holds the write's intent and its abort.
      expect(readdirSync(full)).toEqual(['_sluice']);
      expect(readdirSync(path.join(full, '_sluice'))).toEqual(['lineage']);
    });
  });

  describe('a read-only file system (EROFS)', () => {
    const rofs = path.join(dir, 'rofs');
    beforeAll(() => mountTmpfs(rofs, 'ro,size=64k'));
    afterAll(() => unmount(rofs));

    it('storage put, convert and ts append say "read-only file system", also as root', async () => {
      const target = path.join(rofs, 'a', 'x.csv');
      expectUserError(
        await runSluice(['storage', 'put', input, target]),
        'E012',
        `read-only file system: cannot write ${target}`,
      );
      const out = path.join(rofs, 'out.parquet');
      expectUserError(
        await runSluice(['convert', input, out]),
        'E012',
        `read-only file system: cannot write ${out}`,
      );
      const store = path.join(rofs, 'store');
      expectUserError(
        await runSluice(['ts', 'append', store, 'v', '1']),
        'E012',
        `read-only file system: cannot write ${store}`,
      );
      expect(execFileSync('ls', ['-A', rofs]).toString()).toBe('');
    });
  });
});
