import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runSluice } from './helpers/cli.ts';
import { tempDir } from './helpers/tmp.ts';

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

  it('runs the pipeline walk-through exactly as written (demo under 30 s)', async () => {
    const dir = tempDir('sluice-readme');
    const lines = commandsAfter('### Data pipeline');
    let cwd = dir;
    for (const line of lines) {
      if (line.startsWith('cd ')) {
        cwd = path.join(cwd, line.slice(3));
        continue;
      }
      if (line.includes('s3://')) continue; // the sync example needs a real bucket; sync is tested in test/pipeline
      expect(line.startsWith('npx sluice '), line).toBe(true);
      const args = line.slice('npx sluice '.length).split(/\s+/);
      const started = performance.now();
      const res = await runSluice(args, { cwd });
      expect(res.code, `${line}\n${res.stderr}`).toBe(0);
      if (args[0] === 'demo') expect(performance.now() - started).toBeLessThan(30_000);
    }
  });
});
