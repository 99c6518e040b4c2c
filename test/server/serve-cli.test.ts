/**
 * `sluice serve` as users run it: a child process with a config file, writes and queries over
 * HTTP, its in-process poller and worker moving a dropped file into a served store, and SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { auth, TOKENS, TOKENS_ENV } from './helpers.ts';

interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts `sluice serve` and resolves with the address it printed. */
async function serve(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', ...args],
    {
      cwd,
      env: { ...process.env, SLUICE_API_TOKENS: TOKENS_ENV, SLUICE_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const url = /listening on (http:\/\/[^\s]+)/.exec(err)?.[1];
    if (url) return { child, url, stderr: () => err, exited };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`sluice serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('sluice serve (CLI)', () => {
  it('serves on 127.0.0.1, logs requests as JSON with secrets masked, and stops on SIGTERM with 143', async () => {
    const dir = tempDir('sluice-serve-cli');
    // No level set anywhere: a service logs its requests (info) by default.
    const s = await serve([], dir, { SLUICE_LOG_LEVEL: '' });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const w = await fetch(`${s.url}/write?db=cli&precision=s&u=x&p=${TOKENS.write}`, {
      method: 'POST',
      body: 'm v=1 1',
    });
    expect(w.status).toBe(204);
    const q = await fetch(`${s.url}/api/ts/cli/query?variable=m.v`, { headers: auth('read') });
    expect(((await q.json()) as { points: unknown[] }).points).toHaveLength(1);
    s.child.kill('SIGTERM');
    const end = await s.exited;
    expect(end.signal ?? end.code).toBe(end.signal ? 'SIGTERM' : 143);
    const err = s.stderr();
    expect(err).toMatch(/interrupted \(SIGTERM\): HTTP server stopped \(no request cut off\)/);
    expect(err).toContain('"route":"/write"');
    expect(err).not.toContain(TOKENS.write);
    // The point was durable before the 204, so a reader finds it after the stop.
    const read = await runSluice([
      'ts',
      'query',
      path.join(dir, 'data/timeseries/cli'),
      'm.v',
      '--format',
      'json',
    ]);
    expect(JSON.parse(read.stdout)).toMatchObject([{ value: 1 }]);
  });

  it('drains a request in flight on SIGTERM for longer than the CLI default stop (--shutdown-grace)', async () => {
    const dir = tempDir('sluice-serve-cli');
    const s = await serve(['--shutdown-grace', '8s'], dir);
    const u = new URL(`${s.url}/api/v2/write?bucket=slow&precision=s`);
    const { request } = await import('node:http');
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: `${u.pathname}${u.search}`,
          method: 'POST',
          headers: { ...auth('write'), 'Transfer-Encoding': 'chunked' },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.write('m v=1 1\n');
      setTimeout(() => s.child.kill('SIGTERM'), 300);
      setTimeout(() => req.end('m v=2 2\n'), 2500); // past the CLI's default 1.3 s stop
    });
    expect(await answer).toBe(204);
    const end = await s.exited;
    expect(end.signal ?? end.code).toBe(end.signal ? 'SIGTERM' : 143);
    expect(s.stderr()).toMatch(/no request cut off/);
    const read = await runSluice([
      'ts',
      'query',
      path.join(dir, 'data/timeseries/slow'),
      'm.v',
      '--format',
      'json',
    ]);
    expect(JSON.parse(read.stdout).map((p: { value: number }) => p.value)).toEqual([1, 2]);
  });

  it('runs the serve: section pollers and workers in-process: a dropped file lands in a served store', async () => {
    const dir = tempDir('sluice-serve-cli');
    mkdirSync(path.join(dir, 'inbox'));
    writeFileSync(
      path.join(dir, 'sluice.config.yaml'),
      [
        'serve:',
        '  shutdownGrace: 5s',
        '  pollers:',
        '    - { source: ./inbox, queue: "sqlite:./queue.db", interval: 200ms, minAge: 0s }',
        '  workers:',
        '    - { queue: "sqlite:./queue.db", handler: ingest_and_score_signal, timeseries: signals, concurrency: 2 }',
        '',
      ].join('\n'),
    );
    // Started from another folder: the config's relative paths belong to its own folder.
    const s = await serve(['-c', path.join(dir, 'sluice.config.yaml')], tempDir('sluice-serve-cwd'));
    writeFileSync(
      path.join(dir, 'inbox', 'reading.json'),
      JSON.stringify({ name: 'boiler.temp', value: 71.5, timestamp: '2024-05-01T00:00:00Z' }),
    );
    const points = await until('the point to be stored', async () => {
      const res = await fetch(`${s.url}/api/ts/signals/query?variable=boiler.temp`, {
        headers: auth('read'),
      });
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as { points: { value: number }[] };
      return body.points.length > 0 ? body.points : undefined;
    });
    expect(points.map((p) => p.value)).toEqual([71.5]);
    // The poller archives the object after enqueueing it (and records its lineage first), and a
    // job is counted after its handler returns: the point can be stored before either is counted.
    const metrics = await until('the object archived and the job completed to be counted', async () => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      const counted =
        /sluice_poller_objects_total\{outcome="archived"\} 1/.test(text) &&
        /sluice_worker_jobs_total\{outcome="completed"\} 1/.test(text);
      return counted ? text : undefined;
    });
    expect(metrics).toMatch(/sluice_poller_objects_total\{outcome="archived"\} 1/);
    expect(metrics).toMatch(/sluice_worker_jobs_total\{outcome="completed"\} 1/);
    const ready = (await (await fetch(`${s.url}/readyz`)).json()) as {
      dependencies: { name: string; kind: string; state: string }[];
    };
    expect(ready.dependencies).toContainEqual(
      expect.objectContaining({ name: 'queue sluice', kind: 'sqlite', state: 'up' }),
    );
    s.child.kill('SIGTERM');
    await s.exited;
    expect(s.stderr()).toMatch(
      /interrupted \(SIGTERM\): HTTP server stopped .*; 1 object archived or failed.*; 1 job done/,
    );
  });

  it('refuses a config it cannot use before binding anything, naming the setting (never a token)', async () => {
    const dir = tempDir('sluice-serve-cli');
    writeFileSync(path.join(dir, 'bad.yaml'), 'serve:\n  prot: 80\n');
    const typo = await runSluice(['serve', '-c', 'bad.yaml'], { cwd: dir });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/E001: Invalid serve settings in bad\.yaml: .*prot/);
    writeFileSync(path.join(dir, 'worker.yaml'), 'serve:\n  workers:\n    - { queue: "sqlite:./q.db" }\n');
    const worker = await runSluice(['serve', '-c', 'worker.yaml'], { cwd: dir });
    expect(worker.stderr).toMatch(/E001: serve\.workers\[0\]\.handler/);
    const weak = await runSluice(['serve', '--port', '0'], {
      cwd: dir,
      env: { SLUICE_API_TOKENS: 'write:short-secret' },
    });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/E001: entry 1 of SLUICE_API_TOKENS \(write\) has a token shorter than 16/);
    expect(weak.stderr).not.toContain('short-secret');
  });

  it('says when no token can write or read', async () => {
    const s = await serve([], tempDir('sluice-serve-cli'), { SLUICE_API_TOKENS: '' });
    // The warning can reach stderr just after the listening line (CI once read it before).
    for (let t = 0; t < 100 && !/no write token/.test(s.stderr()); t++)
      await new Promise((r) => setTimeout(r, 50));
    expect(s.stderr()).toMatch(/no write token: writes answer 401/);
    s.child.kill('SIGTERM');
    await s.exited;
  });
});
