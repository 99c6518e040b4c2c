/**
 * The commands `sluice demo` prints as next steps run exactly as printed, pasted into a shell
 * where the README runs the demo (the checkout): with no `sluice` on PATH they say `npx sluice`,
 * which finds the checkout's own bin (bin/sluice.js, so dist/ as `npm ci` builds it) from any
 * folder inside it.
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
    // The demo's last lines: the commands, indented, under "Next, try:".
    const next = /\nNext, try:\n((?: {2}.+\n)+)$/.exec(demo.stdout)?.[1];
    expect(next?.split('\n').map((l) => l.trim())).toEqual([
      'cd sluice-demo',
      'npx sluice status',
      'npx sluice catalog ls --env qa',
      'npx sluice catalog show country_year_summary --env qa',
      'npx sluice promote qa prod',
      'npx sluice serve --demo',
      '',
    ]);
    // Pasted as they are: every line must succeed (bash -e), in order — but the last, which serves
    // until Ctrl-C (test/docs/hints.test.ts runs it).
    const untilServe = (next as string).replace(/ {2}npx sluice serve --demo\n$/, '');
    const pasted = await run('bash', ['-e', '-c', untilServe], { cwd: work, env });
    expect(pasted.stdout).toMatch(/^run .*\n.*full +yes/m);
    expect(pasted.stdout).toMatch(/staging\/country_year_summary\.parquet +3888/);
    expect(pasted.stdout).toMatch(/mean_value +DOUBLE/);
    expect(pasted.stdout).toMatch(/promoted qa → prod: 8 files/);
  }, 120_000);

  it('says sluice when a sluice executable is on PATH', () => {
    const bin = tempDir('bin-with-sluice');
    writeFileSync(path.join(bin, 'sluice'), '#!/bin/sh\n', { mode: 0o755 });
    expect(invokedAs({ PATH: `${bin}${path.delimiter}/usr/bin` })).toBe('sluice');
    expect(invokedAs({ PATH: '/usr/bin' })).toBe('npx sluice');
  });
});
