import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openQueue } from '../../src/queue/open.ts';
import { openStorage } from '../../src/storage/open.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { expectEachRecordOnce, listKeys, runCli, seedObjects } from './fixtures.ts';

type Kind = 'sqlite' | 'bullmq';
const dir = tempDir('poll-crash');

/** A fresh queue URL: a SQLite file, or Redis with a unique prefix (state then lives in Redis too). */
function queueUrlFor(kind: Kind, label: string): string {
  if (kind === 'sqlite') return `sqlite:${path.join(dir, `${label}-${randomBytes(3).toString('hex')}.db`)}`;
  return `redis://127.0.0.1:6379/0?prefix=sluice-test-${randomBytes(4).toString('hex')}`;
}

describe.each(['sqlite', 'bullmq'] as const)('poller crash safety (%s queue)', (kind) => {
  it('kill -9 at random moments (10 kills), restart each time: every record enqueued exactly once', async () => {
    const b = await freshBucket(`poll-crash-${kind}`);
    const root = openStorage(b.url(), s3Options());
    const seeded = await seedObjects(root, 'incoming/', 400);
    const queueUrl = queueUrlFor(kind, 'poll-crash');
    const name = `crash-${randomBytes(4).toString('hex')}`;
    const args = ['poll', '--source', b.url('incoming/'), '--queue', queueUrl, '--queue-name', name];
    const cli = [...args, '--once', '--min-age', '0s', '--concurrency', '4'];
    let kills = 0;
    const delays: string[] = [];
    const watch = openQueue(queueUrl, { name });
    // Up to 30 rounds until 10 kills have landed: on a loaded machine a run can finish first.
    for (let round = 0; kills < 10 && round < 30; round++) {
      // Even rounds: kill at a random time from spawn (startup, listing, first objects).
      // Odd rounds: kill at a random time after this run has enqueued something (mid-work), so the
      // test keeps its meaning however slow the machine is.
      const delay = Math.floor(Math.random() * (round % 2 === 0 ? 1500 : 700));
      const before = (await watch.counts()).waiting;
      delays.push(`${round % 2 === 0 ? 'spawn' : 'work'}+${delay}`);
      const timers: NodeJS.Timeout[] = [];
      const r = await runCli(cli, b.env, (pid) => {
        const kill = () => timers.push(setTimeout(() => process.kill(pid, 'SIGKILL'), delay));
        if (round % 2 === 0) return kill();
        const poll = setInterval(() => {
          void watch.counts().then((c) => {
            if (c.waiting > before) {
              clearInterval(poll);
              kill();
            }
          });
        }, 20);
        timers.push(poll);
      });
      for (const t of timers) clearTimeout(t);
      if (r.signal === 'SIGKILL') kills++;
      else {
        expect(r.code, r.stderr).toBe(0);
        // A fast machine finishes the work before 10 kills have landed: give it more, so every
        // kill still lands on a poller with work to do.
        if (JSON.parse(r.stdout).listed === 0) {
          const more = await seedObjects(root, 'incoming/', 200, seeded.good.length);
          seeded.good.push(...more.good);
          seeded.tags.push(...more.tags);
        }
      }
    }
    await watch.close();
    expect(kills, `kill delays ${delays.join(',')}`).toBeGreaterThanOrEqual(10);
    // The kills landed while work was going on: part of it was done across the killed runs.
    const archivedBeforeRestart = (await listKeys(root, 'processed/')).length;
    expect(archivedBeforeRestart).toBeGreaterThan(0);
    // Restart without interruption until nothing is left.
    for (let i = 0; i < 3; i++) {
      const r = await runCli(cli, b.env);
      expect(r.code, r.stderr).toBe(0);
      if (JSON.parse(r.stdout).listed === 0) break;
    }
    expect(await listKeys(root, 'processed/')).toEqual(seeded.good.map((k) => `processed/${k}`).sort());
    expect((await listKeys(root, 'failed/')).length).toBe(seeded.bad.length * 2);
    await expectEachRecordOnce(queueUrl, name, seeded.tags);
    await root.close();
  }, 300_000);

  it('two pollers at once on the same source: each record once, each object archived once', async () => {
    const b = await freshBucket(`poll-two-${kind}`);
    const root = openStorage(b.url(), s3Options());
    const seeded = await seedObjects(root, 'incoming/', 400);
    const queueUrl = queueUrlFor(kind, 'poll-two');
    const name = `two-${randomBytes(4).toString('hex')}`;
    const cli = ['poll', '--source', b.url('incoming/'), '--queue', queueUrl, '--queue-name', name, '--once'];
    const [a, c] = await Promise.all([
      runCli([...cli, '--min-age', '0s'], b.env),
      runCli([...cli, '--min-age', '0s'], b.env),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(c.code, c.stderr).toBe(0);
    const sa = JSON.parse(a.stdout);
    const sc = JSON.parse(c.stdout);
    // Both did a share of the work, and together exactly all of it.
    expect(sa.archived + sc.archived).toBe(seeded.good.length);
    expect(sa.failed + sc.failed).toBe(seeded.bad.length);
    expect(sa.jobsAdded + sc.jobsAdded).toBe(seeded.tags.length);
    expect(sa.records + sc.records).toBe(seeded.tags.length);
    expect(Math.min(sa.archived, sc.archived)).toBeGreaterThan(0);
    expect(await listKeys(root, 'processed/')).toEqual(seeded.good.map((k) => `processed/${k}`).sort());
    await expectEachRecordOnce(queueUrl, name, seeded.tags);
    await root.close();
  }, 180_000);
});
