/**
 * bin/sluice.js on a Node older than 22.13 says so in one line and exits 1, instead of a stack
 * about node:sqlite. Run with the machine's own Node 20, which this image (and CI, the same image)
 * has at /usr/bin/node.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';

const LAUNCHER = path.join(REPO_ROOT, 'bin/sluice.js');
const SYSTEM_NODES = ['/usr/local/bin/node', '/usr/bin/node', '/bin/node'];

function olderThan(version: string, [major, minor]: number[]): boolean {
  const [a = 0, b = 0] = version.replace(/^v/, '').split('.').map(Number);
  return a < (major ?? 0) || (a === major && b < (minor ?? 0));
}

/** A Node binary older than 22.13 outside node_modules, or a failure saying none was found. */
function oldNode(): { bin: string; version: string } {
  for (const bin of SYSTEM_NODES) {
    if (!existsSync(bin)) continue;
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
    if (olderThan(version, [22, 13])) return { bin, version };
  }
  throw new Error(
    `no Node older than 22.13 found at ${SYSTEM_NODES.join(', ')}: this test needs the image's own Node 20 (apt's nodejs) to check the launcher's refusal`,
  );
}

describe('bin/sluice.js checks the Node version first', () => {
  it('on Node 20: one line naming the version and what to do, exit 1, no stack', () => {
    const { bin, version } = oldNode();
    const res = spawnSync(bin, [LAUNCHER, '--version'], { encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(
      `sluice needs Node ≥ 22.13, this is ${version}; run it with \`npx sluice\` from the checkout or install Node 24\n`,
    );
  });

  it('package.json engines names the same minimum as the message', () => {
    const launcher = readFileSync(LAUNCHER, 'utf8');
    const min = /const MIN_NODE = \[(\d+), (\d+)\]/.exec(launcher);
    expect(min, 'MIN_NODE in bin/sluice.js').not.toBeNull();
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe(`>=${min?.[1]}.${min?.[2]}`);
  });

  it('on this Node (≥ 22.13) the check lets the CLI start', () => {
    expect(olderThan(process.version, [22, 13])).toBe(false);
    // dist/ may not be built in a checkout; whatever happens next, the version check passed.
    const res = spawnSync(process.execPath, [LAUNCHER, '--version'], { encoding: 'utf8' });
    expect(res.stderr).not.toContain('sluice needs Node');
  });
});
