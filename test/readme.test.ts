import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.ts';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** The shell lines of the first fenced block after `heading`, comments stripped. */
function commandsAfter(heading: string): string[] {
  const start = readme.indexOf(heading);
  expect(start, `README has ${heading}`).toBeGreaterThanOrEqual(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

describe('README quick start', () => {
  it('opens with the install-and-demo command and the test command', () => {
    const [first, second] = commandsAfter('# sluice');
    expect(first).toBe('npm ci && npx sluice demo');
    expect(second).toBe('npm test');
    expect(readme.slice(0, 1200)).toMatch(/Node ≥ 22\.13/);
  });

  it('names the Debian packages the tests need, the same list .ci/run installs', () => {
    const packages = (text: string) =>
      /apt-get install -y(?: -qq)? ([a-z0-9 -]+?)(?:`|\s*>|$)/m.exec(text)?.[1]?.trim();
    const ci = readFileSync(path.join(REPO_ROOT, '.ci', 'run'), 'utf8');
    expect(packages(readme)).toBeDefined();
    expect(packages(readme)).toBe(packages(ci));
  });

  it('says how to get the bare `sluice` the docs use', () => {
    expect(readme).toMatch(/`npm link`/);
    expect(readme).toMatch(/`npm install -g \.`/);
  });

  // Every example of the README, the pipeline walk-through included, runs in test/docs/examples.test.ts.
});
