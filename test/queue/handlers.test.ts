import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidPointError, JobPayloadError, UsageError } from '../../src/errors.ts';
import {
  createIngestAndScoreHandler,
  parseSignalPayload,
  resolveHandler,
  type SignalStore,
} from '../../src/jobs/index.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('handlers');

/** A store that keeps points in an array; `failures` makes the first N writes throw a transient error. */
function arrayStore(failures = 0) {
  const points: { variable: string; ts: Date; value: number; meta?: Record<string, unknown> }[] = [];
  let left = failures;
  const store: SignalStore = {
    async storeDataPoint(variable, timestamp, value, metadata) {
      if (value > 1e300) throw new InvalidPointError(`value ${value} out of range for ${variable}`);
      if (left-- > 0) throw Object.assign(new Error('disk busy'), { code: 'EBUSY' });
      points.push({
        variable,
        ts: typeof timestamp === 'bigint' ? new Date(Number(timestamp / 1000n)) : new Date(timestamp),
        value,
        ...(metadata ? { meta: metadata } : {}),
      });
    },
  };
  return { store, points };
}

describe('ingest_and_score_signal', () => {
  it('validates the seed payload and coerces CSV strings', () => {
    expect(parseSignalPayload({ id: 'j', data: { name: 'temp', value: 1.5 } })).toEqual({
      name: 'temp',
      value: 1.5,
      source: 'celery',
    });
    expect(
      parseSignalPayload({
        id: 'j',
        data: { name: 'temp', value: '2.5', source: 'csv', timestamp: '2024-01-01T00:00:00Z' },
      }),
    ).toMatchObject({ value: 2.5, source: 'csv' });
    const bad = (data: unknown) => () => parseSignalPayload({ id: 'job-7', data });
    expect(bad({ value: 1 })).toThrow(JobPayloadError);
    expect(bad({ value: 1 })).toThrow(/job-7.*name/);
    expect(bad({ name: 'x', value: 'abc' })).toThrow(/value/);
    expect(bad({ name: 'x', value: Number.NaN })).toThrow(/value/);
    expect(bad({ name: 'x', value: 1, timestamp: 'yesterday-ish' })).toThrow(/timestamp/);
    expect(bad(null)).toThrow(JobPayloadError);
  });

  it('stores points; invalid payloads dead-letter at once, transient store failures run again without using an attempt', async () => {
    const { store, points } = arrayStore(2);
    const queue = createSqliteQueue({
      path: path.join(dir, 'q.db'),
      name: `h-${randomBytes(3).toString('hex')}`,
      backoffMs: 10,
      pollMs: 10,
    });
    await queue.addBulk([
      {
        id: 'good-1',
        name: 'ingest_and_score_signal',
        data: { name: 'temp', value: 20, timestamp: '2024-05-01T10:00:00Z' },
      },
      { id: 'good-2', name: 'ingest_and_score_signal', data: { name: 'temp', value: '21', source: 'csv' } },
      { id: 'bad-1', name: 'ingest_and_score_signal', data: { name: 'temp' } },
      { id: 'bad-2', name: 'ingest_and_score_signal', data: { name: 'temp', value: 1e308 } },
    ]);
    const fixed = BigInt(Date.parse('2024-06-01T00:00:00Z')) * 1000n;
    const attempts: Record<string, number> = {};
    const outcomes: string[] = [];
    await queue.consume(
      createIngestAndScoreHandler(store, () => fixed),
      {
        drain: true,
        onJob: (e) => {
          attempts[e.job.id] = e.job.attempt;
          outcomes.push(`${e.job.id} ${e.outcome}`);
        },
      },
    );
    expect(points.map((p) => [p.variable, p.value, p.ts.toISOString(), p.meta?.source])).toEqual(
      expect.arrayContaining([
        ['temp', 20, '2024-05-01T10:00:00.000Z', 'celery'],
        ['temp', 21, '2024-06-01T00:00:00.000Z', 'csv'],
      ]),
    );
    expect(points).toHaveLength(2);
    const dead = await queue.listDead();
    expect(dead.map((d) => d.id).sort()).toEqual(['bad-1', 'bad-2']);
    expect(attempts['bad-1']).toBe(1);
    expect(attempts['bad-2']).toBe(1);
    // The store's two EBUSY failures held good jobs up; neither used an attempt.
    expect(outcomes.filter((o) => o.endsWith(' wait'))).toHaveLength(2);
    expect([attempts['good-1'], attempts['good-2']]).toEqual([1, 1]);
    await queue.close();
  });

  it('resolveHandler: built-ins, modules, and clear usage errors', async () => {
    expect(typeof (await resolveHandler('noop'))).toBe('function');
    await expect(resolveHandler('ingest_and_score_signal')).rejects.toThrow(UsageError);
    await expect(resolveHandler('nope')).rejects.toThrow(/Unknown handler "nope"/);
    const h = await resolveHandler('ingest_and_score_signal', { openStore: async () => arrayStore().store });
    await expect(h({ id: 'x', name: 'n', data: {}, attempt: 1 })).rejects.toThrow(JobPayloadError);
  });
});
