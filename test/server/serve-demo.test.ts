/**
 * `sluice serve --demo`: where it finds the project, the sample data it makes on the first run only,
 * and the token it makes when none is configured — printed once on stderr and nowhere else, not
 * even in the request log lines of the requests that present it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_STORE,
  findDemoProject,
  samplePoints,
  seedDemoInbox,
  seedDemoStore,
} from '../../src/cli/actions/serve-demo.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const root = tempDir('serve-demo');
const made = path.join(root, 'made');
const running: ChildProcess[] = [];

beforeAll(async () => {
  mkdirSync(made);
  const demo = await runSluice(['demo', '--scale', '0.05'], { cwd: made });
  expect(demo.code, demo.stderr).toBe(0);
}, 120_000);

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** A copy of the demo project, in `<root>/<name>/sluice-demo`. */
function copy(name: string): string {
  const dir = path.join(root, name, 'sluice-demo');
  cpSync(path.join(made, 'sluice-demo'), dir, { recursive: true });
  return dir;
}

describe('finding the demo project', () => {
  it('is ./sluice-demo, else the current folder when it is one, else the folder named', () => {
    const project = path.join(made, 'sluice-demo');
    expect(findDemoProject(undefined, made).dir).toBe(project);
    expect(findDemoProject(undefined, project).dir).toBe(project);
    expect(findDemoProject('sluice-demo', made).configFile).toBe(path.join(project, 'sluice.config.yaml'));
  });

  it('is a NotFoundError naming where it looked and what to run first', () => {
    expect(() => findDemoProject(undefined, root)).toThrow(
      expect.objectContaining({
        code: 'E011',
        message: expect.stringMatching(
          /No sluice demo project in .*sluice-demo or .*: run `sluice demo` first/,
        ),
      }),
    );
    // A folder with only a config file is not a demo project (its inbox and stores are not ours).
    expect(() => findDemoProject(path.join(made, 'sluice-demo', 'models'))).toThrow(/No sluice demo project/);
  });
});

describe('the sample data', () => {
  it('three days of four variables every 10 s, the same each time for the same hour', () => {
    const now = Date.UTC(2026, 4, 1, 12, 34);
    const points = samplePoints(now);
    expect(points).toHaveLength(4 * 3 * 8640);
    expect(samplePoints(now)).toEqual(points);
    expect(new Set(points.map((p) => p.variable))).toEqual(
      new Set(['boiler.temp', 'boiler.pressure', 'pump.rpm', 'pump.vibration']),
    );
    expect(points.at(-1)?.timestamp).toBe(Date.UTC(2026, 4, 1, 12) - 10_000);
  });

  it('makes the store and the inbox on the first run only, leaving what is there afterwards', async () => {
    const dir = copy('seed');
    const tsRoot = path.join(dir, 'data', 'timeseries');
    expect(await seedDemoStore(tsRoot)).toBe(true);
    expect(await seedDemoStore(tsRoot)).toBe(false);
    const store = await TimeSeriesStore.open(path.join(tsRoot, DEMO_STORE), { readOnly: true });
    try {
      expect((await store.stats()).segmentPoints).toBe(4 * 3 * 8640);
    } finally {
      await store.close();
    }
    const project = findDemoProject(dir);
    expect(await seedDemoInbox(project)).toBe(true);
    expect(readdirSync(path.join(dir, 'inbox')).sort()).toEqual([
      'bad-reading.json',
      'readings.csv',
      'truncated.json',
    ]);
    expect(await seedDemoInbox(project)).toBe(false);
  });
});

/** Runs `sluice serve --demo` in `cwd` until it prints its dashboard address. */
async function serveDemo(cwd: string, env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--demo', '--port', '0'],
    {
      cwd,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'info', SLUICE_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  let err = '';
  let out = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  child.stdout?.on('data', (d) => {
    out += d;
  });
  const deadline = Date.now() + 60_000;
  while (!/dashboard on (\S+)/.test(err)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`serve --demo did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = (/dashboard on (\S+)/.exec(err)?.[1] ?? '').replace(/\/$/, '');
  const stop = async () => {
    const ended = new Promise((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    await ended;
    return { stderr: err, stdout: out };
  };
  return { url, stderr: () => err, stop };
}

describe('sluice serve --demo', () => {
  it('prints a made admin token once, which works, and appears in no log line', async () => {
    const dir = copy('token');
    const s = await serveDemo(path.dirname(dir), { SLUICE_API_TOKENS: '' });
    const token = /admin token for this run \(printed once, stored nowhere\): ([0-9a-f]{48})\n/.exec(
      s.stderr(),
    )?.[1];
    expect(token).toBeDefined();
    const who = await fetch(`${s.url}/api/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await who.json()).toEqual({ label: 'admin#1', scopes: ['read', 'write', 'admin'] });
    const lake = await fetch(`${s.url}/api/lake?token=${token}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(lake.status).toBe(200);
    const { stderr, stdout } = await s.stop();
    expect(stderr.split(token as string)).toHaveLength(2);
    expect(stdout).not.toContain(token);
    expect(stderr).toMatch(/"caller":"admin#1"/);
    expect(existsSync(path.join(dir, 'data', 'timeseries', DEMO_STORE))).toBe(true);
  });

  it('makes no token when tokens are configured, and never prints theirs', async () => {
    const dir = copy('configured');
    const s = await serveDemo(dir, { SLUICE_API_TOKENS: 'read:configured-read-token-0123' });
    const { stderr } = await s.stop();
    expect(stderr).not.toMatch(/admin token/);
    expect(stderr).not.toContain('configured-read-token-0123');
    expect(readFileSync(path.join(dir, 'sluice.config.yaml'), 'utf8')).not.toMatch(/serve:/);
  });
});
