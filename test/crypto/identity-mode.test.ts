/**
 * Files that hold secrets are private (issue #15): reading an identity or passphrase file that
 * other users can read warns with the fix (chmod 600), and never prints the secret; a 0600 file
 * reads without a word.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('identity and passphrase file modes', () => {
  it('warns about a group/world-readable passphrase file, not about a 0600 one', async () => {
    const dir = tempDir('identity-mode');
    const secret = 'correct-horse-PLANTED-71';
    const pass = path.join(dir, 'pass.txt');
    writeFileSync(pass, `${secret}\n`);
    writeFileSync(path.join(dir, 'in.csv'), 'a,b\n1,2\n');
    chmodSync(pass, 0o644);
    const enc = await runSluice(
      ['write', 'in.csv', '--task-dir', '.', '--name', 'out', '--passphrase-file', pass],
      {
        cwd: dir,
      },
    );
    const dec = await runSluice(
      ['decrypt', 'output/out.parquet.age', '--output', 'back.parquet', '--passphrase-file', pass],
      {
        cwd: dir,
      },
    );
    expect(enc.code, enc.stderr).toBe(0);
    expect(enc.stderr).toContain('can be read by other users (mode 644)');
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stderr).toContain(
      `passphrase file ${pass} can be read by other users (mode 644); run: chmod 600 ${pass}`,
    );
    expect(dec.stderr + dec.stdout + enc.stderr + enc.stdout).not.toContain(secret);
    chmodSync(pass, 0o600);
    const quiet = await runSluice(
      ['decrypt', 'output/out.parquet.age', '--output', 'back2.parquet', '--passphrase-file', pass],
      {
        cwd: dir,
      },
    );
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain('can be read by other users');
  });
});
