import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { JobPayloadError } from '../../src/errors.ts';
import { createBullmqQueue } from '../../src/queue/drivers/bullmq.ts';
import { queueConformance } from './conformance.ts';

// Real redis-server; a unique prefix per file keeps runs apart (never flushed).
const REDIS = 'redis://127.0.0.1:6379/0';
const prefix = `sluice-test-${randomBytes(4).toString('hex')}`;
queueConformance('bullmq', (opts) => createBullmqQueue({ ...opts, url: REDIS, prefix }));

describe('bullmq: a job whose data in Redis is not JSON', () => {
  it('is dead-lettered at once (E062 naming it, token masked), the others run, drain ends, and dead/retry still work', async () => {
    const name = `torn-${randomBytes(3).toString('hex')}`;
    const queue = createBullmqQueue({ url: REDIS, prefix, name, attempts: 3, backoffMs: 10 });
    const redis = new Redis(REDIS);
    onTestFinished(async () => {
      await queue.close();
      redis.disconnect();
    });
    await queue.addBulk([
      { id: 'good-1', name: 'n', data: { a: 1 } },
      { id: 'torn-1', name: 'n', data: { a: 2 } },
      { id: 'good-2', name: 'n', data: { a: 3 } },
      { id: 'fails-1', name: 'n', data: { a: 4 } },
    ]);
    // Written by something else: cut mid-value, with a token in the text the parser quotes.
    await redis.hset(`${prefix}:${name}:torn-1`, 'data', '{"api_key": "sk_live_abcdefghijklmnop", "b": [tor');
    const seen: string[] = [];
    const outcomes: string[] = [];
    const started = Date.now();
    await queue.consume(
      async (job) => {
        if (job.id === 'fails-1') throw new JobPayloadError('Job fails-1: value is missing');
        seen.push(job.id);
      },
      { drain: true, onJob: (e) => outcomes.push(`${e.job.id} ${e.outcome}`) },
    );
    expect(Date.now() - started, 'drained; the unreadable job did not stay active').toBeLessThan(10_000);
    expect(seen.sort()).toEqual(['good-1', 'good-2']);
    expect(outcomes).toContain('torn-1 dead');
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 0, completed: 2, dead: 2 });
    const dead = await queue.listDead();
    expect(dead.map((d) => d.id).sort()).toEqual(['fails-1', 'torn-1']);
    const torn = dead.find((d) => d.id === 'torn-1');
    expect(torn?.error).toMatch(/^Job torn-1: its data in Redis is not valid JSON/);
    expect(JSON.stringify(dead)).not.toContain('sk_live_abcdefghijklmnop');
    // Retrying every dead job skips the unreadable one (it would only die again).
    expect(await queue.retryDead()).toBe(1);
    expect((await queue.counts()).waiting).toBe(1);
  });
});
