import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/duckdb.ts';
import { ageKeygen, requireAgeCli } from '../crypto/helpers.ts';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

function sluice(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['src/cli/main.ts', ...args], {
    cwd: path.resolve('.'),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Child processes and passphrase files (scrypt at 2^18) are slow on a loaded machine.
describe('sluice write / convert / decrypt', { timeout: 240_000 }, () => {
  const dir = tempDir('writer-cli');
  const csv = path.join(dir, 'in.csv');
  let key: { file: string; recipient: string };
  beforeAll(() => {
    requireAgeCli();
    key = ageKeygen(dir);
    writeFileSync(
      csv,
      `id,region,amount\n${Array.from({ length: 50 }, (_, i) => `${i},${i % 2 ? 'eu' : 'us'},${i * 1.25}`).join('\n')}\n`,
    );
  });

  it('write: partitioned, encrypted parquet; age decrypts each file', () => {
    const task = path.join(dir, 'task');
    const r = sluice([
      'write',
      csv,
      '--task-dir',
      task,
      '--name',
      'sales',
      '--format',
      'parquet',
      '--partition-by',
      'region',
      '--encrypt-to',
      key.recipient,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ path: 'output/sales', rows: 50, encrypted: true });
    expect(result.files).toHaveLength(2);
    for (const f of result.files) {
      const out = execFileSync('age', ['-d', '-i', key.file, path.join(task, f.path)]);
      expect(out.subarray(0, 4).toString()).toBe('PAR1');
    }
  });

  it('write: passphrase only from a file or env var; --passphrase is not an option', async () => {
    const task = path.join(dir, 'task-pp');
    const ppFile = path.join(dir, 'pp.txt');
    writeFileSync(ppFile, 'hunter2 is long enough\n');
    const r = sluice([
      'write',
      csv,
      '--task-dir',
      task,
      '--name',
      'p',
      '--format',
      'csv',
      '--passphrase-file',
      ppFile,
    ]);
    expect(r.code).toBe(0);
    const sealed = path.join(task, 'output/p.csv.age');
    expect(readFileSync(sealed, 'latin1')).toMatch(/-> scrypt /);
    const out = path.join(dir, 'p.csv');
    const d = sluice(['decrypt', sealed, '-o', out, '--passphrase-env', 'SLUICE_TEST_PP'], {
      SLUICE_TEST_PP: 'hunter2 is long enough',
    });
    expect(d.code).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('id,region,amount');
    const bad = sluice(['write', csv, '--task-dir', task, '--name', 'x', '--passphrase', 'secret']);
    expect(bad.code).toBe(2);
    // Commander's usage error, in sluice's form since usage errors all print as E022.
    expect(bad.stderr).toMatch(/^E022: unknown option '--passphrase'/);
    expect(bad.stderr).not.toContain('secret');
    const wrong = sluice(
      ['decrypt', sealed, '-o', path.join(dir, 'w.csv'), '--passphrase-env', 'SLUICE_TEST_PP'],
      { SLUICE_TEST_PP: 'nope' },
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^E041: .*wrong key or passphrase/);
    expect(wrong.stderr).not.toContain('nope');
    expect(existsSync(path.join(dir, 'w.csv'))).toBe(false);
  });

  it('convert: csv → parquet → jsonl, and to an encrypted .age output', async () => {
    const pq = path.join(dir, 'conv', 'data.parquet');
    expect(sluice(['convert', csv, pq]).code).toBe(0);
    const jl = path.join(dir, 'conv', 'data.jsonl');
    expect(sluice(['convert', pq, jl]).code).toBe(0);
    const lines = readFileSync(jl, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(50);
    expect(JSON.parse(lines[1] ?? '{}')).toEqual({ id: 1, region: 'eu', amount: 1.25 });
    const engine = await Engine.create();
    const [types] = await engine.query<{ t: string }>(`SELECT typeof(amount) AS t FROM '${pq}' LIMIT 1`);
    expect(types?.t).toBe('DOUBLE');
    await engine.close();
    const sealed = path.join(dir, 'conv', 'data.csv.age');
    expect(sluice(['convert', pq, sealed, '--encrypt-to', key.recipient]).code).toBe(0);
    expect(execFileSync('age', ['-d', '-i', key.file, sealed]).toString().split('\n')[0]).toBe(
      'id,region,amount',
    );
    expect(existsSync(path.join(dir, 'conv', 'output'))).toBe(false);
    expect(sluice(['convert', csv, path.join(dir, 'x.age')]).code).toBe(2);
  });

  it('decrypt: files encrypted by the age CLI, from disk and from S3', async () => {
    const plain = path.join(dir, 'cli-plain.bin');
    writeFileSync(plain, Buffer.alloc(200_000, 7));
    execFileSync('age', ['-r', key.recipient, '-o', `${plain}.age`, plain]);
    const out = path.join(dir, 'cli-out.bin');
    const r = sluice(['decrypt', `${plain}.age`, '-o', out, '-i', key.file]);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(plain))).toBe(true);

    const bucket = await freshBucket('decrypt');
    const w = sluice(
      ['write', csv, '--task-dir', bucket.url('task/'), '--name', 'remote', '--format', 'jsonl'],
      {
        ...bucket.env,
        SLUICE_S3_FORCE_PATH_STYLE: 'true',
      },
    );
    expect(w.stderr).toBe('');
    expect(JSON.parse(w.stdout)).toMatchObject({
      location: `s3://${bucket.bucket}/task/output/remote.jsonl`,
      rows: 50,
    });
    const put = sluice(['storage', 'put', `${plain}.age`, bucket.url('enc/file.age')], bucket.env);
    expect(put.code).toBe(0);
    const out2 = path.join(dir, 'cli-out2.bin');
    const r2 = sluice(['decrypt', bucket.url('enc/file.age'), '-o', out2, '-i', key.file], {
      ...bucket.env,
      SLUICE_S3_FORCE_PATH_STYLE: 'true',
    });
    expect(r2.stderr).toBe('');
    expect(readFileSync(out2).equals(readFileSync(plain))).toBe(true);
  });
});
