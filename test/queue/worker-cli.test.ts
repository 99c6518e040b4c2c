import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { tempDir } from '../helpers/tmp.ts';
import { REPO_ROOT, runCli } from '../poller/fixtures.ts';

const HANDLER = path.join(REPO_ROOT, 'test/queue/fixtures/sink-handler.js');
const dir = tempDir('worker-cli');

function setup(label: string) {
  const db = path.join(dir, `${label}.db`);
  const sink = path.join(dir, `${label}.sink`);
  writeFileSync(sink, '');
  return { db, sink, url: `sqlite:${db}`, name: `w-${randomBytes(3).toString('hex')}` };
}
const sinkLines = (sink: string) =>
  readFileSync(sink, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; attempt: number; pid: number });

describe('sluice worker and sluice queue', () => {
  it('runs a handler module with --drain; queue stats/dead/retry/purge', async () => {
    const s = setup('cli');
    const q = createSqliteQueue({ path: s.db, name: s.name });
    await q.addBulk([
      ...Array.from({ length: 30 }, (_, i) => ({ id: `ok-${i}`, name: 'n', data: { i } })),
      { id: 'will-fail', name: 'n', data: { fail: true } },
    ]);
    await q.close();
    const base = ['--queue', s.url, '--queue-name', s.name];
    const r = await runCli(
      [
        'worker',
        ...base,
        '--handler',
        HANDLER,
        '--drain',
        '--concurrency',
        '4',
        '--attempts',
        '2',
        '--backoff',
        '10',
      ],
      { SINK_FILE: s.sink },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ completed: 30, retried: 1, waited: 0, dead: 1 });
    expect(sinkLines(s.sink).length).toBe(30);
    const stats = await runCli(['queue', 'stats', ...base, '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({
      waiting: 0,
      active: 0,
      completed: 30,
      failed: 1,
      dead: 1,
    });
    const dead = await runCli(['queue', 'dead', ...base, '--json']);
    const deadJobs = JSON.parse(dead.stdout);
    expect(deadJobs).toHaveLength(1);
    expect(deadJobs[0]).toMatchObject({ id: 'will-fail', attempts: 2 });
    expect(deadJobs[0].error).toContain('asked to fail');
    expect((await runCli(['queue', 'retry', ...base, 'will-fail'])).stdout).toContain('retried 1');
    expect(JSON.parse((await runCli(['queue', 'stats', ...base, '--json'])).stdout).waiting).toBe(1);
    await runCli(['worker', ...base, '--handler', HANDLER, '--drain', '--attempts', '1'], {
      SINK_FILE: s.sink,
    });
    expect((await runCli(['queue', 'purge', ...base])).stdout).toContain('purged 1');
    // Completed jobs: kept within the retention, pruned past it.
    expect((await runCli(['queue', 'prune', ...base, '--older-than', '1h'])).stdout).toContain('pruned 0');
    expect((await runCli(['queue', 'prune', ...base, '--older-than', '0ms'])).stdout).toContain('pruned 30');
    expect(JSON.parse((await runCli(['queue', 'stats', ...base, '--json'])).stdout).completed).toBe(0);
    const badAge = await runCli(['queue', 'prune', ...base, '--older-than', 'later']);
    expect(badAge.code).toBe(2);
    expect(badAge.stderr).toContain('--older-than: Invalid duration');
    const usage = await runCli(['worker', ...base, '--handler', 'no_such_handler']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('E022');
    const badUrl = await runCli(['queue', 'stats', '--queue', 'postgres://x']);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('E014');
  }, 60_000);

  it('several worker processes on one SQLite file run each job once', async () => {
    const s = setup('multi');
    const q = createSqliteQueue({ path: s.db, name: s.name });
    await q.addBulk(Array.from({ length: 600 }, (_, i) => ({ id: `m-${i}`, name: 'n', data: { i } })));
    await q.close();
    const args = ['worker', '--queue', s.url, '--queue-name', s.name, '--handler', HANDLER, '--drain'];
    const runs = await Promise.all(
      [1, 2, 3].map(() =>
        runCli([...args, '--concurrency', '8'], { SINK_FILE: s.sink, SINK_SLEEP_MS: '30' }),
      ),
    );
    // 600 jobs × 30 ms / 8 take one process ≥ 2 s: long enough for the others to start under load.
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const lines = sinkLines(s.sink);
    expect(lines.length).toBe(600);
    expect(new Set(lines.map((l) => l.id)).size).toBe(600);
    expect(new Set(lines.map((l) => l.pid)).size).toBeGreaterThan(1);
  }, 60_000);

  it('a worker killed with -9 mid-job: its jobs come back after the lease and run again', async () => {
    const s = setup('lease');
    const q = createSqliteQueue({ path: s.db, name: s.name });
    await q.addBulk(Array.from({ length: 4 }, (_, i) => ({ id: `l-${i}`, name: 'n', data: { i } })));
    const args = ['worker', '--queue', s.url, '--queue-name', s.name, '--handler', HANDLER, '--lease', '1s'];
    const killed = await runCli(
      [...args, '--concurrency', '4'],
      { SINK_FILE: s.sink, SINK_SLEEP_MS: '60000' },
      (pid) => {
        const check = setInterval(() => {
          void q.counts().then((c) => {
            if (c.active === 4) {
              clearInterval(check);
              process.kill(pid, 'SIGKILL');
            }
          });
        }, 50);
      },
    );
    expect(killed.signal).toBe('SIGKILL');
    expect((await q.counts()).active).toBe(4); // still leased to the dead worker
    const r = await runCli([...args, '--drain', '--concurrency', '4'], { SINK_FILE: s.sink });
    expect(r.code, r.stderr).toBe(0);
    const lines = sinkLines(s.sink);
    expect(lines.map((l) => l.id).sort()).toEqual(['l-0', 'l-1', 'l-2', 'l-3']);
    expect(lines.every((l) => l.attempt === 2)).toBe(true);
    await q.close();
  }, 60_000);

  it('SIGTERM: the worker finishes the jobs in flight, then ends by SIGTERM (exit status 143)', async () => {
    const s = setup('term');
    const q = createSqliteQueue({ path: s.db, name: s.name });
    await q.addBulk(Array.from({ length: 10 }, (_, i) => ({ id: `t-${i}`, name: 'n', data: { i } })));
    const child = spawn(
      process.execPath,
      [
        'src/cli/main.ts',
        'worker',
        '--queue',
        s.url,
        '--queue-name',
        s.name,
        '--handler',
        HANDLER,
        '--concurrency',
        '2',
      ],
      { cwd: REPO_ROOT, env: { ...process.env, SINK_FILE: s.sink, SINK_SLEEP_MS: '700' }, stdio: 'ignore' },
    );
    // A failing assertion must not leave the process running.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      if ((await q.counts()).active === 2) break;
    }
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    const c = await q.counts();
    expect(c.active).toBe(0);
    expect(c.completed).toBe(2);
    expect(sinkLines(s.sink).length).toBe(2);
    await q.close();
  }, 60_000);
});

describe('sluice worker --metrics-port', () => {
  it('counts jobs by outcome on /metrics', async () => {
    const s = setup('wmetrics');
    const q = createSqliteQueue({ path: s.db, name: s.name });
    await q.addBulk([
      ...Array.from({ length: 5 }, (_, i) => ({ id: `ok-${i}`, name: 'n', data: { i } })),
      { id: 'nope', name: 'n', data: { fail: true } },
    ]);
    const child = spawn(
      process.execPath,
      [
        'src/cli/main.ts',
        'worker',
        '--queue',
        s.url,
        '--queue-name',
        s.name,
        '--handler',
        HANDLER,
        '--attempts',
        '1',
        '--metrics-port',
        '0',
      ],
      { cwd: REPO_ROOT, env: { ...process.env, SINK_FILE: s.sink }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // A failing assertion must not leave the process running.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr?.on('data', (d) => {
        stderr += d;
        const m = /metrics on (\S+)/.exec(stderr);
        if (m?.[1]) resolve(m[1]);
      });
      child.on('close', () => reject(new Error(`worker exited before serving metrics: ${stderr}`)));
    });
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(url)).text();
      if (
        text.includes('sluice_worker_jobs_total{outcome="dead"} 1') &&
        text.includes('outcome="completed"} 5')
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toContain('sluice_worker_jobs_total{outcome="completed"} 5');
    expect(text).toContain('sluice_worker_jobs_total{outcome="dead"} 1');
    expect(text).toContain('sluice_worker_job_duration_seconds_count 6');
    child.kill('SIGTERM');
    expect(
      await new Promise((resolve) => child.on('close', (code, signal) => resolve([code, signal]))),
    ).toEqual([null, 'SIGTERM']);
    await q.close();
  }, 60_000);
});
