import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A folder with three files and no sluice.config.yaml, run from a folder without one either. */
function setup() {
  const work = tempDir('sync-cli');
  const tree = path.join(work, 'tree');
  for (const name of ['a.json', 'b.csv', 'sub/c.txt']) {
    const file = path.join(tree, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${name}\n`);
  }
  return { work, tree, env: { SLUICE_CACHE_DIR: path.join(work, 'cache') } };
}

describe('sluice sync: where S3 settings come from', () => {
  it('without a config file, from the environment (as `sluice storage`); a bad endpoint is E001 naming its variable', async () => {
    const { work, tree, env } = setup();
    const b = await freshBucket('sync-env');
    const ok = await runSluice(['sync', tree, b.url('x/')], { cwd: work, env: { ...env, ...b.env } });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/copied 3 files/);
    // A pipeline setting sync does not use does not stop it.
    const again = await runSluice(['sync', tree, b.url('x/')], {
      cwd: work,
      env: { ...env, ...b.env, SLUICE_ENV: 'staging' },
    });
    expect(again.stdout).toMatch(/copied 0 files .* unchanged 3/);
    const bad = await runSluice(['sync', tree, b.url('x/')], {
      cwd: work,
      env: { ...env, ...b.env, AWS_ENDPOINT_URL: 'not a url' },
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^E001: S3 endpoint "not a url" \(from AWS_ENDPOINT_URL\) is not a URL/);
  });

  it('with a config file, its S3 settings apply and it is validated first', async () => {
    const { work, tree, env } = setup();
    const b = await freshBucket('sync-cfg');
    // An empty AWS_ENDPOINT_URL: the endpoint can only come from the file.
    const withoutEndpoint = { ...b.env, AWS_ENDPOINT_URL: '' };
    const endpoint = b.endpoint;
    const config = path.join(work, 'sync.yaml');
    writeFileSync(config, `s3Endpoint: ${endpoint}\n`);
    const ok = await runSluice(['sync', tree, b.url('y/'), '-c', config], {
      cwd: work,
      env: { ...env, ...withoutEndpoint },
    });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/copied 3 files/);
    writeFileSync(config, 'env: staging\n');
    const invalid = await runSluice(['diff', tree, b.url('y/'), '-c', config], {
      cwd: work,
      env: { ...env, ...b.env },
    });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^E001: Invalid configuration: env/);
  });
});

describe('sluice sync: a local source that does not exist', () => {
  it('fails with E011 naming it and changes nothing, even with --delete', async () => {
    const { work, tree, env } = setup();
    const missing = path.join(work, 'tre');
    const out = await runSluice(['sync', missing, tree, '--delete'], { cwd: work, env });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(new RegExp(`^E011: Sync source ${missing} does not exist`));
    const left = await runSluice(['diff', tree, tree], { cwd: work, env });
    expect(left.stdout).toMatch(/3 identical/);
    const diff = await runSluice(['diff', missing, tree], { cwd: work, env });
    expect(diff.code).toBe(1);
  });
});
