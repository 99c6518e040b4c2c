/**
 * SIGINT/SIGTERM end `sluice worker` and `sluice poll` within 2 s, by that signal (shell status
 * 130/143), with one line saying what was kept, and nothing in flight is lost: a job comes back
 * to the queue (bullmq) or after its lease (sqlite); a poller gives back its leases and the next
 * poll enqueues every record exactly once.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createBullmqQueue } from '../../src/queue/drivers/bullmq.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { startRedis, startSluice, waitFor } from '../cli/stop-helpers.ts';
import { tempDir } from '../helpers/tmp.ts';

const HANDLER = path.resolve(import.meta.dirname, 'fixtures/sink-handler.js');
const SHARED_REDIS = 'redis://127.0.0.1:6379/0';
const dir = tempDir('stop-signals');

function sink(label: string): { file: string; ids: () => string[] } {
  const file = path.join(dir, `${label}-${randomBytes(3).toString('hex')}.sink`);
  writeFileSync(file, '');
  return {
    file,
    ids: () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id),
  };
}

describe('sluice worker stops within 2 s and loses no job', { timeout: 120_000 }, () => {
  it('bullmq, SIGTERM mid-job: the job goes back to waiting at once and a second worker runs it', async () => {
    const prefix = `sluice-stop-${randomBytes(4).toString('hex')}`;
    const url = `${SHARED_REDIS}?prefix=${prefix}`;
    const queue = createBullmqQueue({ url: SHARED_REDIS, prefix, name: 'w' });
    await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ id: `j-${i}`, name: 'n', data: { i } })));
    const out = sink('bullmq-term');
    const args = ['worker', '--queue', url, '--queue-name', 'w', '--handler', HANDLER];
    const slow = startSluice(args, { env: { SINK_FILE: out.file, SINK_SLEEP_MS: '60000' } });
    await waitFor('a job in flight', async () => (await queue.counts()).active === 1, { child: slow });
    const end = await slow.stop('SIGTERM');
    expect(end.signal).toBe('SIGTERM');
    expect(end.ms).toBeLessThan(2_000);
    expect(slow.stderr()).toBe('interrupted (SIGTERM): 0 jobs done, 1 job in flight returned to the queue\n');
    expect(await queue.counts()).toMatchObject({ waiting: 3, active: 0, completed: 0 });

    const fast = startSluice([...args, '--drain'], { env: { SINK_FILE: out.file } });
    expect((await fast.ended).code, fast.stderr()).toBe(0);
    expect(out.ids().sort()).toEqual(['j-0', 'j-1', 'j-2']);
    await queue.close();
  });

  it('bullmq, kill -9 mid-job: with --lease 1s the next worker runs the dead one’s job within seconds, not BullMQ’s 30–90', async () => {
    const prefix = `sluice-stop-${randomBytes(4).toString('hex')}`;
    const url = `${SHARED_REDIS}?prefix=${prefix}`;
    const queue = createBullmqQueue({ url: SHARED_REDIS, prefix, name: 'w' });
    await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ id: `k-${i}`, name: 'n', data: { i } })));
    const out = sink('bullmq-kill');
    const args = ['worker', '--queue', url, '--queue-name', 'w', '--handler', HANDLER, '--lease', '1s'];
    const slow = startSluice(args, { env: { SINK_FILE: out.file, SINK_SLEEP_MS: '60000' } });
    await waitFor('a job in flight', async () => (await queue.counts()).active === 1, { child: slow });
    const killed = await slow.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    // The killed worker's job is still active (locked) in Redis: nobody gave it back.
    expect(await queue.counts()).toMatchObject({ waiting: 2, active: 1, completed: 0 });

    const started = Date.now();
    const next = startSluice([...args, '--drain'], { env: { SINK_FILE: out.file } });
    expect((await next.ended).code, next.stderr()).toBe(0);
    expect(Date.now() - started, 'recovered within a few leases (BullMQ alone: 30–90 s)').toBeLessThan(
      15_000,
    );
    expect(out.ids().sort()).toEqual(['k-0', 'k-1', 'k-2']);
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 0, completed: 3, dead: 0 });
    await queue.close();
  });

  it('bullmq, SIGINT while a short job runs: the job finishes, the rest wait', async () => {
    const prefix = `sluice-stop-${randomBytes(4).toString('hex')}`;
    const queue = createBullmqQueue({ url: SHARED_REDIS, prefix, name: 'w' });
    await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ id: `s-${i}`, name: 'n', data: { i } })));
    const out = sink('bullmq-int');
    const run = startSluice(
      ['worker', '--queue', `${SHARED_REDIS}?prefix=${prefix}`, '--queue-name', 'w', '--handler', HANDLER],
      { env: { SINK_FILE: out.file, SINK_SLEEP_MS: '400' } },
    );
    await waitFor('a job in flight', async () => (await queue.counts()).active === 1, { child: run });
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toMatch(/^interrupted \(SIGINT\): \d jobs? done, no job in flight\n$/);
    const c = await queue.counts();
    expect(c.active).toBe(0);
    expect(c.completed).toBe(out.ids().length);
    expect(c.completed + c.waiting).toBe(5);
    await queue.close();
  });

  it('sqlite, SIGINT mid-job: the job is handed back (not counted as an attempt) and the next worker runs it at once', async () => {
    const db = path.join(dir, `w-${randomBytes(3).toString('hex')}.db`);
    const queue = createSqliteQueue({ path: db, name: 'w' });
    await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ id: `q-${i}`, name: 'n', data: { i } })));
    const out = sink('sqlite-int');
    const args = [
      'worker',
      '--queue',
      `sqlite:${db}`,
      '--queue-name',
      'w',
      '--handler',
      HANDLER,
      '--lease',
      '10m', // far beyond the test: only the hand-back can bring the job back
    ];
    const slow = startSluice(args, { env: { SINK_FILE: out.file, SINK_SLEEP_MS: '60000' } });
    await waitFor('a job in flight', async () => (await queue.counts()).active === 1, { child: slow });
    const end = await slow.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(2_000);
    expect(slow.stderr()).toBe('interrupted (SIGINT): 0 jobs done, 1 job in flight returned to the queue\n');
    const held = new DatabaseSync(db, { readOnly: true });
    const rows = held.prepare(`SELECT state, attempts, lease_owner FROM sluice_jobs ORDER BY id`).all();
    held.close();
    // The job that was running is waiting again with no attempt spent; the others were never taken.
    expect(rows).toEqual(
      Array.from({ length: 3 }, () => ({ state: 'waiting', attempts: 0, lease_owner: null })),
    );
    const fast = startSluice([...args, '--drain'], { env: { SINK_FILE: out.file } });
    expect((await fast.ended).code, fast.stderr()).toBe(0);
    expect(out.ids().sort()).toEqual(['q-0', 'q-1', 'q-2']);
    expect(await queue.counts()).toMatchObject({ completed: 3, active: 0, waiting: 0 });
    await queue.close();
  });
});

/** Four CSV objects of 25,000 rows: long enough to be caught mid-enqueue. */
function seedObjects(label: string): { source: string; rows: number } {
  const source = path.join(dir, `${label}-${randomBytes(3).toString('hex')}`);
  mkdirSync(source, { recursive: true });
  for (let k = 0; k < 4; k++) {
    const lines = Array.from({ length: 25_000 }, (_, i) => `v${k},${i}`);
    writeFileSync(path.join(source, `obj${k}.csv`), `name,value\n${lines.join('\n')}\n`);
  }
  return { source, rows: 100_000 };
}

describe('sluice poll stops within 2 s and gives back its leases', { timeout: 180_000 }, () => {
  it('bullmq queue + Redis state, SIGTERM mid-enqueue: no lease left, the next poll enqueues every record once', async () => {
    const redis = await startRedis(); // private: 100,000 jobs stay off the shared server
    const { source, rows } = seedObjects('poll-redis');
    const args = ['poll', '--source', source, '--queue', redis.url, '--min-age', '0s', '--concurrency', '2'];
    const client = new Redis(redis.url);
    const queue = createBullmqQueue({ url: redis.url, name: 'sluice' });
    const run = startSluice(args);
    await waitFor('the first jobs', async () => (await queue.counts()).waiting > 0, { child: run });
    expect((await client.keys('sluice:poller:*:lease:*')).length).toBeGreaterThan(0);
    const end = await run.stop('SIGTERM');
    expect(end.signal).toBe('SIGTERM');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toMatch(
      /^interrupted \(SIGTERM\): \d objects? archived or failed, leases of [12] objects? in flight released \(polled again next time\)\n$/,
    );
    expect(await client.keys('sluice:poller:*:lease:*')).toEqual([]);

    const again = startSluice([...args, '--once']);
    expect((await again.ended).code, again.stderr()).toBe(0);
    const counts = await queue.counts();
    expect(counts.waiting).toBe(rows); // none lost, none twice (job ids from key + ETag + row)
    client.disconnect();
    await queue.close();
  });

  it('sqlite queue and state, SIGINT mid-poll: the next poll finishes the job, records once', async () => {
    const { source, rows } = seedObjects('poll-sqlite');
    const db = path.join(dir, `p-${randomBytes(3).toString('hex')}.db`);
    const args = [
      'poll',
      '--source',
      source,
      '--queue',
      `sqlite:${db}`,
      '--min-age',
      '0s',
      '--concurrency',
      '2',
    ];
    const queue = createSqliteQueue({ path: db, name: 'sluice' });
    const run = startSluice(args);
    await waitFor('the first jobs', async () => (await queue.counts()).waiting > 0, { child: run });
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toMatch(/^interrupted \(SIGINT\): \d objects? archived or failed, .*\n$/);

    const again = startSluice([...args, '--once']);
    expect((await again.ended).code, again.stderr()).toBe(0);
    expect((await queue.counts()).waiting).toBe(rows);
    await queue.close();
  });
});
