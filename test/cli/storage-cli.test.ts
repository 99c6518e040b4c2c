import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { freshBucket, type TestBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('sluice CLI basics and storage commands', () => {
  let bucket: TestBucket;
  const dir = tempDir('sluice-cli');
  beforeAll(async () => {
    bucket = await freshBucket('cli');
  });

  it('prints help and version with exit 0, usage errors with exit 2', async () => {
    const help = await runSluice(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('storage');
    const version = await runSluice(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const bad = await runSluice(['storage', 'frobnicate']);
    expect(bad.code).toBe(2);
    const missingArg = await runSluice(['storage', 'cat']);
    expect(missingArg.code).toBe(2);
  });

  it('put then cat on S3 returns the same bytes, with metadata', async () => {
    const file = path.join(dir, 'f.bin');
    const bytes = randomBytes(300_000);
    writeFileSync(file, bytes);
    const put = await runSluice(['storage', 'put', file, bucket.url('dir/k.bin'), '--meta', 'owner=unit'], {
      env: bucket.env,
    });
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const cat = await new Promise<Buffer>((resolve, reject) => {
      import('node:child_process').then(({ spawn }) => {
        const child = spawn(
          process.execPath,
          ['src/cli/main.ts', 'storage', 'cat', bucket.url('dir/k.bin')],
          {
            env: { ...process.env, ...bucket.env },
          },
        );
        const parts: Buffer[] = [];
        child.stdout.on('data', (d) => parts.push(d));
        child.on('error', reject);
        child.on('close', () => resolve(Buffer.concat(parts)));
      });
    });
    expect(cat.equals(bytes)).toBe(true);
    const stat = await runSluice(['storage', 'stat', '--json', bucket.url('dir/k.bin')], { env: bucket.env });
    expect(JSON.parse(stat.stdout)).toMatchObject({ size: 300_000, metadata: { owner: 'unit' } });
    const ls = await runSluice(['storage', 'ls', '-r', bucket.url('dir/')], { env: bucket.env });
    expect(ls.stdout.trim()).toBe('k.bin');
  });

  it('rejects a traversal key in an S3 URL with E010 and writes nothing', async () => {
    const file = path.join(dir, 'g.txt');
    writeFileSync(file, 'x');
    const res = await runSluice(['storage', 'put', file, bucket.url('a/../b')], { env: bucket.env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^E010: /);
    const ls = await runSluice(['storage', 'ls', '-r', bucket.url()], { env: bucket.env });
    expect(ls.stdout.trim().split('\n')).not.toContain('b');
    expect(ls.stdout.trim().split('\n')).not.toContain('a/../b');
  });

  it('reports a missing object as E011 with exit 1', async () => {
    const res = await runSluice(['storage', 'cat', bucket.url('missing/nothing.txt')], { env: bucket.env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^E011: .*missing\/nothing\.txt/);
  });

  it('uploads a directory tree with --recursive and removes it with rm -r', async () => {
    const tree = path.join(dir, 'tree');
    for (const rel of ['a/1.txt', 'a/b/2.txt', 'c.txt']) {
      const p = path.join(tree, rel);
      await import('node:fs/promises').then((f) => f.mkdir(path.dirname(p), { recursive: true }));
      writeFileSync(p, rel);
    }
    const up = await runSluice(['storage', 'put', '-r', tree, bucket.url('tree/')], { env: bucket.env });
    expect(up.stdout).toMatch(/uploaded 3 files/);
    const ls = await runSluice(['storage', 'ls', '-r', bucket.url('tree/')], { env: bucket.env });
    expect(ls.stdout.trim().split('\n')).toEqual(['a/1.txt', 'a/b/2.txt', 'c.txt']);
    const rm = await runSluice(['storage', 'rm', '-r', bucket.url('tree/')], { env: bucket.env });
    expect(rm.stdout).toMatch(/deleted 3/);
  });

  it('shows config with masked secrets and validates with every problem listed', async () => {
    const show = await runSluice(['config', 'show', '--json'], {
      env: { AWS_SECRET_ACCESS_KEY: 'topsecretvalue1', AWS_ACCESS_KEY_ID: 'AKIA1' },
    });
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain('topsecretvalue1');
    const bad = await runSluice(['config', 'validate'], {
      env: { SLUICE_DATA_DIR: '/nonexistent/d', SLUICE_MODELS_DIR: '/nonexistent/m' },
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^E001: Configuration has 2 problem/);
  });
});
