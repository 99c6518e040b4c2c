/**
 * Plaintext never stays on disk when the output is encrypted. `sluice write|convert --encrypt-to`
 * stage rows through a private temp folder (0700, files 0600); killed mid-write by SIGINT or
 * SIGTERM, ended by an error, or run to the end, the process leaves no `sluice-*` folder and no
 * byte of the input anywhere under its own TMPDIR (a private folder per child, so we can look).
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startSluice, waitFor } from '../cli/stop-helpers.ts';
import { ageKeygen, requireAgeCli } from '../crypto/helpers.ts';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const MARKER = 'plainmarker';
const ROWS = 600_000;
const dir = tempDir('plaintext-temp');
const input = path.join(dir, 'input.csv');
let recipient = '';
let keyFile = '';

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** Every file under `root` that holds a byte sequence of the input. */
function plaintextUnder(root: string): string[] {
  return filesUnder(root).filter((f) => readFileSync(f).includes(MARKER));
}

/** What a child leaves in its private TMPDIR that must not be there. */
function leftovers(tmp: string): { folders: string[]; plaintext: string[] } {
  return {
    folders: readdirSync(tmp).filter((n) => n.startsWith('sluice-') && n !== 'sluice-locks'),
    plaintext: plaintextUnder(tmp),
  };
}

function privateTmp(label: string): string {
  const tmp = path.join(dir, `tmp-${label}`);
  mkdirSync(tmp);
  return tmp;
}

/** The staged plaintext file of a running write, once it holds `minBytes`. */
function stagedFile(tmp: string, minBytes: number): string | undefined {
  for (const folder of readdirSync(tmp).filter((n) => /^sluice-writer-(?!duckdb)/.test(n))) {
    for (const f of filesUnder(path.join(tmp, folder))) {
      try {
        if (statSync(f).size >= minBytes) return f;
      } catch {
        // removed between the listing and the stat
      }
    }
  }
  return undefined;
}

beforeAll(async () => {
  requireAgeCli();
  ({ recipient, file: keyFile } = ageKeygen(dir));
  const out = createWriteStream(input);
  out.write('id,name,amount\n');
  for (let i = 0; i < ROWS; i++) out.write(`${i},${MARKER}-${i},${i * 0.25}\n`);
  await new Promise((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve(undefined))));
});

describe('no plaintext left on disk by an encrypted write', { timeout: 180_000 }, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`write --encrypt-to, ${signal} while rows are staged: ends within 2 s, staging private and gone`, async () => {
      const tmp = privateTmp(`stage-${signal}`);
      const task = path.join(dir, `task-stage-${signal}`);
      const args = ['write', input, '--task-dir', task, '--name', 'out', '--format', 'csv'];
      const run = startSluice([...args, '--encrypt-to', recipient], { env: { TMPDIR: tmp } });
      const staged = await waitFor('plaintext staged', () => stagedFile(tmp, 256 * 1024), { child: run });
      expect(statSync(path.dirname(staged)).mode & 0o777).toBe(0o700);
      expect(statSync(staged).mode & 0o777).toBe(0o600);
      const end = await run.stop(signal);
      expect(end.signal).toBe(signal);
      expect(end.ms).toBeLessThan(2_000);
      expect(run.stderr()).toBe(`interrupted (${signal}): no output written, temp files removed\n`);
      expect(leftovers(tmp)).toEqual({ folders: [], plaintext: [] });
      expect(plaintextUnder(task)).toEqual([]);
    });
  }

  it('write --encrypt-to, SIGTERM while the staged rows are being encrypted: no plaintext, no partial output', async () => {
    const tmp = privateTmp('encrypting');
    const task = path.join(dir, 'task-encrypting');
    const run = startSluice(
      ['write', input, '--task-dir', task, '--name', 'out', '--format', 'csv', '--encrypt-to', recipient],
      { env: { TMPDIR: tmp } },
    );
    const output = path.join(task, 'output');
    await waitFor(
      'the encrypted output being written',
      () => {
        try {
          return readdirSync(output).some((n) => n.startsWith('.out.csv.age.'));
        } catch {
          return false;
        }
      },
      { child: run },
    );
    const end = await run.stop('SIGTERM');
    expect(end.signal).toBe('SIGTERM');
    expect(end.ms).toBeLessThan(2_000);
    expect(leftovers(tmp)).toEqual({ folders: [], plaintext: [] });
    expect(plaintextUnder(task)).toEqual([]);
    expect(readdirSync(output).filter((n) => n.startsWith('.out.csv.age.'))).toEqual([]);
  });

  it('convert to .csv.age, SIGINT mid-write: same guarantees', async () => {
    const tmp = privateTmp('convert');
    const target = path.join(dir, 'converted.csv.age');
    const run = startSluice(['convert', input, target, '--encrypt-to', recipient], { env: { TMPDIR: tmp } });
    await waitFor('plaintext staged', () => stagedFile(tmp, 256 * 1024), { child: run });
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(2_000);
    expect(leftovers(tmp)).toEqual({ folders: [], plaintext: [] });
    expect(plaintextUnder(dir).filter((f) => !f.startsWith(input))).toEqual([]);
  });

  it('a write that ends normally leaves nothing behind, and its output decrypts to the input', async () => {
    const tmp = privateTmp('normal');
    const task = path.join(dir, 'task-normal');
    const run = startSluice(
      ['write', input, '--task-dir', task, '--name', 'out', '--format', 'csv', '--encrypt-to', recipient],
      { env: { TMPDIR: tmp } },
    );
    const end = await run.ended;
    expect(end.code, run.stderr()).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ rows: ROWS, encrypted: true });
    expect(leftovers(tmp)).toEqual({ folders: [], plaintext: [] });
    expect(plaintextUnder(task)).toEqual([]);
    const plain = execFileSync('age', ['-d', '-i', keyFile, path.join(task, 'output/out.csv.age')], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(plain.toString().trimEnd().split('\n')).toHaveLength(ROWS + 1);
  });

  it('a write that fails after staging (no such bucket) leaves nothing behind', async () => {
    const bucket = await freshBucket('plaintext-err');
    const tmp = privateTmp('error');
    const run = startSluice(
      [
        'write',
        input,
        '--task-dir',
        `s3://${bucket.bucket}-missing/task`,
        '--name',
        'out',
        '--format',
        'csv',
        '--encrypt-to',
        recipient,
      ],
      { env: { TMPDIR: tmp, ...bucket.env } },
    );
    let sawStaging = false;
    const watcher = setInterval(() => {
      sawStaging ||= stagedFile(tmp, 1) !== undefined;
    }, 25);
    const end = await run.ended;
    clearInterval(watcher);
    expect(end.code).toBe(1);
    expect(run.stderr()).toMatch(/^E0\d\d: /);
    expect(sawStaging).toBe(true); // the failure came after plaintext was staged
    expect(leftovers(tmp)).toEqual({ folders: [], plaintext: [] });
  });
});
