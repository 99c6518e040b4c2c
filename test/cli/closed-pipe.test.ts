/**
 * `sluice … | head` ends quietly: status 0 and nothing on stderr when the reader goes away. The
 * EPIPE came at a different write each run (a stack trace one time, `E099: write EPIPE` the next),
 * so each pipe runs several times.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { exitQuietlyOnClosedPipe } from '../../src/cli/closed-pipe.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);
const dir = tempDir('closed-pipe');
const RUNS = 5;

/**
 * Runs `sluice <args> | <reader>` in bash with pipefail; returns sluice's own exit status
 * (PIPESTATUS[0]) and what it wrote on stderr.
 */
async function sluiceInto(args: string[], reader: string, label: string) {
  const errFile = path.join(dir, `${label}.err`);
  const quoted = [process.execPath, path.join(REPO_ROOT, 'src/cli/main.ts'), ...args]
    .map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
    .join(' ');
  const script = `set -o pipefail; ${quoted} 2>'${errFile}' | ${reader} >/dev/null; echo "\${PIPESTATUS[0]}"`;
  const { stdout } = await run('bash', ['-c', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', SLUICE_PROGRESS: '0' },
  });
  return { status: Number(stdout.trim()), stderr: readFileSync(errFile, 'utf8') };
}

async function expectQuietEveryRun(args: string[], reader: string, label: string) {
  for (let i = 0; i < RUNS; i++) {
    const { status, stderr } = await sluiceInto(args, reader, `${label}-${i}`);
    expect({ run: i, status, stderr }).toEqual({ run: i, status: 0, stderr: '' });
  }
}

describe('a reader that goes away ends sluice quietly with status 0', { timeout: 120_000 }, () => {
  const big = path.join(dir, 'big.bin');
  const many = path.join(dir, 'many');
  const store = path.join(dir, 'store');
  beforeAll(async () => {
    writeFileSync(big, randomBytes(8 * 1024 * 1024));
    mkdirSync(many);
    for (let i = 0; i < 5000; i++) writeFileSync(path.join(many, `f${i}.txt`), `${i}\n`);
    const points = path.join(dir, 'points.jsonl');
    const lines = Array.from({ length: 50_000 }, (_, i) =>
      JSON.stringify({ variable: 'temp', timestamp: 1.7e12 + i * 1000, value: i }),
    );
    writeFileSync(points, `${lines.join('\n')}\n`);
    const imported = await runSluice(['ts', 'import', store, points]);
    expect(imported.code, imported.stderr).toBe(0);
  });

  it('storage cat of an 8 MiB file | head -c 100', async () => {
    await expectQuietEveryRun(['storage', 'cat', big], 'head -c 100', 'cat');
  });

  it('storage ls -r of 5,000 files | head -1', async () => {
    await expectQuietEveryRun(['storage', 'ls', '-r', many], 'head -1', 'ls');
  });

  it('storage ls -r --json (JSON lines) | head -1', async () => {
    await expectQuietEveryRun(['storage', 'ls', '-r', '--json', many], 'head -1', 'ls-json');
  });

  it('ts query --format jsonl of 50,000 points | head -1', async () => {
    await expectQuietEveryRun(['ts', 'query', store, 'temp', '--format', 'jsonl'], 'head -1', 'query');
  });

  it('the whole output still arrives when the reader reads it all', async () => {
    const { stdout } = await run(
      'bash',
      ['-c', `'${process.execPath}' src/cli/main.ts storage cat '${big}' | wc -c`],
      {
        cwd: REPO_ROOT,
      },
    );
    expect(Number(stdout.trim())).toBe(8 * 1024 * 1024);
  });
});

describe('exitQuietlyOnClosedPipe', () => {
  it('exits 0 on EPIPE; leaves other errors to a pipeline listener, else throws them', () => {
    const out = new PassThrough();
    const codes: number[] = [];
    const remove = exitQuietlyOnClosedPipe([out], (code) => codes.push(code));
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(codes).toEqual([0]);
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    expect(() => out.emit('error', full)).toThrow('no space');
    const seen: unknown[] = [];
    out.on('error', (e) => seen.push(e));
    out.emit('error', full);
    expect(seen).toEqual([full]);
    remove();
    expect(out.listenerCount('error')).toBe(1);
  });
});
