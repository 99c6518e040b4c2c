import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import type { SluiceError } from '../../src/errors.ts';
import { openStorage } from '../../src/storage/open.ts';
import { diffStorages, syncStorages } from '../../src/sync/sync.ts';
import { S3Synchronizer } from '../../src/sync/synchronizer.ts';
import { walkLocalFiles } from '../../src/sync/upload-tree.ts';
import { freshBucket, s3Options, type TestBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeFile } from './helpers.ts';

const run = promisify(execFile);

/** A deterministic tree: small text files, nested folders, a 9 MiB file, names with spaces and dots. */
function makeTree(dir: string): string[] {
  const files: string[] = [];
  for (let i = 0; i < 30; i++) {
    const rel = `${i % 3 === 0 ? 'a/' : i % 3 === 1 ? 'b/cd/' : ''}file ${i}.txt`;
    writeFile(path.join(dir, rel), `line ${i}\n`.repeat(i * 10 + 1));
    files.push(rel);
  }
  writeFile(path.join(dir, 'big/blob.bin'), Buffer.alloc(9 * 1024 * 1024, 7));
  writeFile(path.join(dir, 'skip.tmp'), 'temp');
  writeFile(path.join(dir, 'logs/x.log'), 'log');
  files.push('big/blob.bin', 'skip.tmp', 'logs/x.log');
  return files.sort();
}

function rcloneEnv(b: TestBucket): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  return {
    ...env,
    RCLONE_CONFIG_X_TYPE: 's3',
    RCLONE_CONFIG_X_PROVIDER: 'Other',
    RCLONE_CONFIG_X_ENDPOINT: b.endpoint,
    RCLONE_CONFIG_X_ACCESS_KEY_ID: b.env.AWS_ACCESS_KEY_ID,
    RCLONE_CONFIG_X_SECRET_ACCESS_KEY: b.env.AWS_SECRET_ACCESS_KEY,
    RCLONE_CONFIG_X_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_X_REGION: 'us-east-1',
  };
}

describe('sync local ↔ s3rver', async () => {
  const b = await freshBucket('sync');
  const src = tempDir('sync-src');
  const cacheDir = tempDir('sync-cache');
  const files = makeTree(src);
  const dst = openStorage(b.url('tree/'), s3Options());
  const local = openStorage(src);

  it('uploads everything with sha256 metadata; aws s3 sync and rclone check agree byte for byte', async () => {
    const r = await syncStorages(local, dst, { cacheDir });
    expect(r.uploaded).toEqual(files);
    expect(r.bytes).toBe(files.reduce((s, f) => s + readFileSync(path.join(src, f)).length, 0));
    const info = await dst.stat('big/blob.bin');
    expect(info.metadata.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(path.join(src, 'big/blob.bin')))
        .digest('hex'),
    );

    const down = tempDir('sync-aws');
    await run(
      'aws',
      ['s3', 'sync', `s3://${b.bucket}/tree/`, down, '--endpoint-url', b.endpoint, '--only-show-errors'],
      {
        env: { ...process.env, ...b.env },
      },
    );
    const got = await walkLocalFiles(down);
    expect(got.map((f) => f.rel)).toEqual(files);
    for (const f of files)
      expect(readFileSync(path.join(down, f)).equals(readFileSync(path.join(src, f))), f).toBe(true);

    const check = await run('rclone', ['check', '--fast-list', src, `X:${b.bucket}/tree`], {
      env: rcloneEnv(b),
    }).catch((e: { stderr: string; code: number }) => e);
    expect((check as { stderr: string }).stderr, (check as { stderr: string }).stderr).toMatch(
      /0 differences found/,
    );
    expect((check as { code?: number }).code ?? 0, (check as { stderr: string }).stderr).toBe(0);
  });

  it('a second sync uploads nothing, even after files are rewritten with the same bytes', async () => {
    expect((await syncStorages(local, dst, { cacheDir })).uploaded).toEqual([]);
    for (const f of files.slice(0, 5)) writeFileSync(path.join(src, f), readFileSync(path.join(src, f)));
    const r = await syncStorages(local, dst, { cacheDir });
    expect(r.uploaded).toEqual([]);
    expect(r.unchanged).toBe(files.length);
    // Without any cache, sha256 comes from object metadata and local hashing: still nothing.
    expect((await syncStorages(local, dst, { cacheDir: false })).uploaded).toEqual([]);
  });

  it('a same-size change is found by sha256; excludes and includes filter both sides', async () => {
    const f = files[3] as string;
    const before = readFileSync(path.join(src, f));
    const changed = Buffer.from(before);
    changed[0] = changed[0] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path.join(src, f), changed);
    const dry = await syncStorages(local, dst, { cacheDir, dryRun: true });
    expect(dry.uploaded).toEqual([f]);
    expect((await dst.get(f)).equals(before)).toBe(true);
    const r = await syncStorages(local, dst, { cacheDir, exclude: ['*.txt'] });
    expect(r.uploaded).toEqual([]);
    expect((await syncStorages(local, dst, { cacheDir, include: ['a/**'] })).uploaded).toEqual([f]);
    expect((await dst.get(f)).equals(changed)).toBe(true);
  });

  it('--delete removes target-only objects, guarded by maxDelete; excluded keys are never deleted', async () => {
    await dst.put('extra/one.txt', 'x');
    await dst.put('extra/two.txt', 'y');
    await dst.put('keep.tmp', 'z');
    const error = (await syncStorages(local, dst, {
      cacheDir,
      delete: true,
      maxDelete: 1,
      exclude: ['*.tmp'],
    }).catch((e: unknown) => e)) as SluiceError;
    expect(error.code).toBe('E070');
    expect(error.message).toMatch(/would delete 2 objects .* more than --max-delete 1; nothing was changed/);
    expect(await dst.exists('extra/one.txt')).toBe(true);
    const r = await syncStorages(local, dst, { cacheDir, delete: true, maxDelete: 2, exclude: ['*.tmp'] });
    expect(r.deleted).toEqual(['extra/one.txt', 'extra/two.txt']);
    expect(await dst.exists('keep.tmp')).toBe(true);
    await dst.delete('keep.tmp');
  });

  it('objects uploaded by other tools (no sha256 metadata) are hashed, not re-uploaded', async () => {
    const other = tempDir('sync-other');
    makeTree(other);
    await run(
      'aws',
      ['s3', 'sync', other, `s3://${b.bucket}/other/`, '--endpoint-url', b.endpoint, '--only-show-errors'],
      {
        env: { ...process.env, ...b.env },
      },
    );
    const target = openStorage(b.url('other/'), s3Options());
    expect((await target.stat('a/file 0.txt')).metadata.sha256).toBeUndefined();
    const r = await syncStorages(openStorage(other), target, { cacheDir });
    expect(r.uploaded).toEqual([]);
    expect(r.unchanged).toBe(files.length);
  });

  it('an interrupted sync resumes without redoing finished files', async () => {
    const fresh = openStorage(b.url('resume/'), s3Options());
    const ac = new AbortController();
    let seen = 0;
    await expect(
      syncStorages(local, fresh, {
        cacheDir,
        concurrency: 1,
        signal: ac.signal,
        onProgress: () => {
          seen += 1;
          if (seen === 11) ac.abort(new Error('stop'));
        },
      }),
    ).rejects.toThrow();
    const already = (await diffStorages(local, fresh, { cacheDir })).unchanged;
    expect(already.length).toBeGreaterThanOrEqual(9);
    const r = await syncStorages(local, fresh, { cacheDir });
    expect(r.uploaded.length).toBe(files.length - already.length);
    expect(r.uploaded.some((k) => already.includes(k))).toBe(false);
  });

  it('the seed API: syncToS3 with excludes, calculateDiff, syncFromS3', async () => {
    const config = Config.load({ env: {}, overrides: { s3Bucket: b.bucket, lakeRoot: tempDir('lake') } });
    const syncer = new S3Synchronizer(config, s3Options().s3 ? { storageOptions: s3Options() } : {});
    const count = await syncer.syncToS3(src, 'dev/staging', { exclude: ['*.tmp', '*.log'], cacheDir });
    expect(count).toBe(files.length - 2);
    writeFileSync(path.join(src, 'new.txt'), 'new');
    const diff = await syncer.calculateDiff(src, 'dev/staging', { exclude: ['*.tmp', '*.log'], cacheDir });
    expect(diff).toEqual({ localOnly: ['new.txt'], s3Only: [], modified: [] });
    rmSync(path.join(src, 'new.txt'));
    const back = tempDir('sync-back');
    expect(await syncer.syncFromS3('dev/staging', back, { cacheDir })).toBe(files.length - 2);
    expect(readFileSync(path.join(back, 'big/blob.bin')).length).toBe(9 * 1024 * 1024);
    expect(await syncer.syncFromS3('dev/staging', back, { cacheDir })).toBe(0);
  });

  it('files above the single-put limit go multipart and round-trip byte for byte', async () => {
    const dir = tempDir('sync-large');
    const big = Buffer.alloc(17 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    writeFile(path.join(dir, 'large.bin'), big);
    const target = openStorage(b.url('large/'), s3Options());
    const r = await syncStorages(openStorage(dir), target, { cacheDir });
    expect(r.uploaded).toEqual(['large.bin']);
    expect((await target.get('large.bin')).equals(big)).toBe(true);
    expect((await target.stat('large.bin')).metadata.sha256).toBe(
      createHash('sha256').update(big).digest('hex'),
    );
    const back = tempDir('sync-large-back');
    await syncStorages(target, openStorage(back), { cacheDir });
    expect(readFileSync(path.join(back, 'large.bin')).equals(big)).toBe(true);
    expect((await syncStorages(openStorage(dir), target, { cacheDir: false })).uploaded).toEqual([]);
  });

  it('between two buckets and into memory', async () => {
    const b2 = await freshBucket('sync-2');
    const other = openStorage(b2.url(), s3Options());
    const r = await syncStorages(dst, other, { cacheDir });
    expect(r.uploaded.length).toBeGreaterThan(0);
    expect((await syncStorages(dst, other, { cacheDir })).uploaded).toEqual([]);
    const mem = openStorage(`memory://sync-${randomBytes(3).toString('hex')}`);
    const m = await syncStorages(other, mem, { cacheDir });
    expect(m.uploaded).toEqual(r.uploaded);
  });
});
