/**
 * The command `sluice demo` prints as its next step runs exactly as printed, from where the
 * README runs the demo (the checkout): with no `sluice` on PATH it says `npx sluice`, which finds
 * the checkout's own bin from any folder inside it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { invokedAs } from '../../src/cli/invoked-as.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/** PATH without any folder holding a `sluice` executable other than node_modules/.bin ones. */
const pathWithoutSluice = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((d) => invokedAs({ PATH: d }) === 'npx sluice')
  .join(path.delimiter);

describe('the demo’s printed next step', () => {
  // Inside the checkout, as `npm ci && npx sluice demo` runs it; removed afterwards.
  const work = path.join(ROOT, '.test-work', path.basename(tempDir('demo-hint')));
  mkdirSync(work, { recursive: true });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    try {
      rmdirSync(path.dirname(work)); // only when no other run uses it
    } catch {
      // not empty
    }
  });

  it('says npx sluice when no sluice is on PATH, and runs as printed', async () => {
    const env = { ...process.env, PATH: pathWithoutSluice, SLUICE_CACHE_DIR: tempDir('demo-hint-cache') };
    const demo = await run(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'demo'], {
      cwd: work,
      env,
    });
    const hint = /Next: (.+)$/m.exec(demo.stdout)?.[1];
    expect(hint).toBe('cd sluice-demo && npx sluice status && npx sluice catalog ls --env qa');
    const next = await run('bash', ['-c', hint as string], { cwd: work, env });
    expect(next.stdout).toMatch(/country_year_summary/);
  }, 120_000);

  it('says sluice when a sluice executable is on PATH', () => {
    const bin = tempDir('bin-with-sluice');
    writeFileSync(path.join(bin, 'sluice'), '#!/bin/sh\n', { mode: 0o755 });
    expect(invokedAs({ PATH: `${bin}${path.delimiter}/usr/bin` })).toBe('sluice');
    expect(invokedAs({ PATH: '/usr/bin' })).toBe('npx sluice');
  });
});
