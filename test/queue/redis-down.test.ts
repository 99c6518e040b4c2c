/**
 * Redis that cannot be reached fails fast: within the connect timeout, with one `E060` line
 * naming the URL with its password masked, exit code 1, no ioredis stack traces; and a Redis
 * lost mid-run is waited for (one warning per interval) without losing signals.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRedisStateStore } from '../../src/poller/state-redis.ts';
import { createBullmqQueue } from '../../src/queue/drivers/bullmq.ts';
import { freePort, startRedis, startSluice, waitFor } from '../cli/stop-helpers.ts';
import { tempDir } from '../helpers/tmp.ts';

const HANDLER = path.resolve(import.meta.dirname, 'fixtures/sink-handler.js');
// Start-up of a child (imports of BullMQ, ioredis, prom-client) on a loaded machine.
const STARTUP_SLACK_MS = 8_000;
const dir = tempDir('redis-down');

/** One line: E060, the masked URL, the bound; no password, no stack frames, no ioredis noise. */
function expectOneE060Line(stderr: string, port: number, bound: string): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(
    new RegExp(
      `^E060: Cannot reach Redis .* at redis://:\\*+@127\\.0\\.0\\.1:${port}/0 within ${bound}: connect ECONNREFUSED`,
    ),
  );
  expect(stderr).not.toContain('hunter2');
  expect(stderr).not.toMatch(/\n\s+at |\[ioredis\]|Unhandled/);
}

describe('an unreachable Redis fails fast with E060', { timeout: 120_000 }, () => {
  it('sluice worker: --connect-timeout 2s ends it in about 2 s, exit 1, one masked E060 line', async () => {
    const port = await freePort();
    const run = startSluice([
      'worker',
      '--queue',
      `redis://:hunter2@127.0.0.1:${port}/0`,
      '--handler',
      'noop',
      '--connect-timeout',
      '2s',
    ]);
    const started = Date.now();
    const end = await run.ended;
    expect(end.code).toBe(1);
    expectOneE060Line(run.stderr(), port, '2s');
    expect(end.at - started).toBeGreaterThanOrEqual(2_000);
    expect(end.at - started).toBeLessThan(2_000 + STARTUP_SLACK_MS);
  });

  it('sluice worker: the default bound is 10 s', async () => {
    const port = await freePort();
    const run = startSluice([
      'worker',
      '--queue',
      `redis://:hunter2@127.0.0.1:${port}/0`,
      '--handler',
      'noop',
    ]);
    const started = Date.now();
    const end = await run.ended;
    expect(end.code).toBe(1);
    expectOneE060Line(run.stderr(), port, '10s');
    expect(end.at - started).toBeGreaterThanOrEqual(10_000);
    expect(end.at - started).toBeLessThan(10_000 + STARTUP_SLACK_MS);
  });

  it('sluice poll: a BullMQ queue or a Redis poller state that cannot be reached is E060 before any poll', async () => {
    const source = path.join(dir, 'src');
    mkdirSync(source, { recursive: true });
    writeFileSync(path.join(source, 'a.json'), '{"name":"x","value":1}');
    const port = await freePort();
    const queueDown = startSluice([
      'poll',
      '--source',
      source,
      '--queue',
      `redis://:hunter2@127.0.0.1:${port}/0`,
      '--connect-timeout',
      '1500ms',
    ]);
    const started = Date.now();
    const end = await queueDown.ended;
    expect(end.code).toBe(1);
    expectOneE060Line(queueDown.stderr(), port, '1500ms');
    expect(end.at - started).toBeLessThan(1_500 + STARTUP_SLACK_MS);

    // The queue is a local SQLite file; the state is the dead Redis.
    const stateDown = startSluice([
      'poll',
      '--once',
      '--source',
      source,
      '--queue',
      `sqlite:${path.join(dir, 'q.db')}`,
      '--state',
      `redis://:hunter2@127.0.0.1:${port}/0`,
      '--connect-timeout',
      '1s',
    ]);
    const stateEnd = await stateDown.ended;
    expect(stateEnd.code).toBe(1);
    expectOneE060Line(stateDown.stderr(), port, '1s');
    expect(stateDown.stderr()).toContain('poller state');
  });

  it('sluice queue stats: E060 within --connect-timeout', async () => {
    const port = await freePort();
    const run = startSluice([
      'queue',
      'stats',
      '--queue',
      `redis://:hunter2@127.0.0.1:${port}/0`,
      '--connect-timeout',
      '1s',
    ]);
    const end = await run.ended;
    expect(end.code).toBe(1);
    expectOneE060Line(run.stderr(), port, '1s');
  });

  it('SIGINT while still connecting ends the worker within 2 s', async () => {
    const port = await freePort();
    const run = startSluice(['worker', '--queue', `redis://127.0.0.1:${port}/0`, '--handler', 'noop']);
    // The connect phase has begun once the child has had time to load; 10 s bound, so it is still on.
    await new Promise((r) => setTimeout(r, 4_000));
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toMatch(/^interrupted \(SIGINT\): 0 jobs done, no job in flight\n$/);
  });

  it('the library: every operation rejects with E060 after connectTimeoutMs, URL masked', async () => {
    const port = await freePort();
    const url = `redis://:hunter2@127.0.0.1:${port}/0`;
    const queue = createBullmqQueue({ url, name: 'down', connectTimeoutMs: 300 });
    const started = Date.now();
    const error = (await queue.counts().then(
      () => new Error('counts() succeeded'),
      (e: unknown) => e,
    )) as Error & { code: string };
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toMatchObject({ code: 'E060' });
    expect(error.message).toContain(`redis://:********@127.0.0.1:${port}/0 within 300ms`);
    expect(error.message).not.toContain('hunter2');
    await queue.close();
    const state = createRedisStateStore({ url, connectTimeoutMs: 300 }, 'scope');
    await expect(state.claim('k', 'e', 1000)).rejects.toMatchObject({ code: 'E060' });
    await state.close();
  });
});

describe('a Redis that comes late or goes away mid-run', { timeout: 120_000 }, () => {
  it('a Redis that starts within the connect window is used', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    const sink = path.join(dir, `late-${randomBytes(3).toString('hex')}.sink`);
    writeFileSync(sink, '');
    const run = startSluice(
      ['worker', '--queue', url, '--handler', HANDLER, '--drain', '--connect-timeout', '30s'],
      { env: { SINK_FILE: sink } },
    );
    await new Promise((r) => setTimeout(r, 1_500));
    await startRedis(port);
    const end = await run.ended;
    expect(end.code, run.stderr()).toBe(0);
    expect(JSON.parse(run.stdout())).toEqual({ completed: 0, retried: 0, waited: 0, dead: 0 });
  });

  it('Redis lost mid-run: the worker waits (one warning, no stack), takes jobs again once it is back, and still stops on SIGTERM', async () => {
    const redis = await startRedis();
    const name = `mid-${randomBytes(3).toString('hex')}`;
    const sink = path.join(dir, `${name}.sink`);
    writeFileSync(sink, '');
    const queue = createBullmqQueue({ url: redis.url, name });
    await queue.add({ id: 'before', name: 'n', data: {} });
    const run = startSluice(['worker', '--queue', redis.url, '--queue-name', name, '--handler', HANDLER], {
      env: { SINK_FILE: sink },
    });
    await waitFor('the first job', async () => (await queue.counts()).completed === 1, { child: run });
    await queue.close();
    await redis.stop();
    // Reconnect attempts back off up to 5 s; the warning comes once per 30 s.
    await waitFor('a warning about the lost Redis', () => run.stderr().includes('unreachable'), {
      child: run,
      timeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 2_000));
    const warnings = run.stderr().trimEnd().split('\n');
    expect(warnings, run.stderr()).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40, url: redis.url });
    expect(run.stderr()).not.toMatch(/\n\s+at |\[ioredis\]/);

    const back = await startRedis(redis.port); // empty: no persistence
    const again = createBullmqQueue({ url: back.url, name });
    await again.add({ id: 'after', name: 'n', data: {} });
    await waitFor('the job added after the restart', async () => (await again.counts()).completed === 1, {
      child: run,
      timeoutMs: 30_000,
    });
    await again.close();
    const end = await run.stop('SIGTERM');
    expect(end.signal).toBe('SIGTERM');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toMatch(/interrupted \(SIGTERM\): 2 jobs done, no job in flight\n$/);
  });
});
