import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JobPayloadError } from '../../src/errors.ts';
import { diskFull, fromOsError } from '../../src/os-errors.ts';
import type { Job, JobQueue, QueueOptions } from '../../src/queue/types.ts';

export type QueueFactory = (options: QueueOptions) => JobQueue;

const uniqueName = (label: string) => `t-${label}-${randomBytes(4).toString('hex')}`;

/** The JobQueue contract; every driver runs it against a real backend. */
export function queueConformance(driver: string, make: QueueFactory): void {
  describe(`JobQueue conformance: ${driver}`, () => {
    const open = (label: string, opts: QueueOptions = {}) => make({ name: uniqueName(label), ...opts });

    it('adding an id that exists is a no-op', async () => {
      const q = open('idem');
      try {
        expect(await q.add({ id: 'job-a', name: 'n', data: { x: 1 } })).toBe(true);
        expect(await q.add({ id: 'job-a', name: 'n', data: { x: 2 } })).toBe(false);
        const added = await q.addBulk([
          { id: 'job-a', name: 'n', data: 1 },
          { id: 'job-b', name: 'n', data: 2 },
          { id: 'job-c', name: 'n', data: 3 },
        ]);
        expect(added).toBe(2);
        const c = await q.counts();
        expect(c.waiting).toBe(3);
        expect(await q.backlog()).toBe(3);
        const seen: Job[] = [];
        await q.consume(async (job) => void seen.push(job), { drain: true });
        expect(seen.find((j) => j.id === 'job-a')?.data).toEqual({ x: 1 });
        // Completed jobs keep their id: adding again still does nothing.
        expect(await q.add({ id: 'job-a', name: 'n', data: {} })).toBe(false);
        expect((await q.counts()).completed).toBe(3);
      } finally {
        await q.close();
      }
    });

    it("a job's source object reaches its handler; the data stays as added (handler, dead list)", async () => {
      const q = open('source', { attempts: 1 });
      try {
        const source = { url: 's3://bucket/in/a.csv', etag: '"e1"', size: 12 };
        await q.addBulk([
          { id: 'with', name: 'n', data: { v: 1 }, source },
          { id: 'without', name: 'n', data: { v: 2 } },
        ]);
        const seen: Job[] = [];
        await q.consume(
          async (job) => {
            seen.push(job);
            throw new JobPayloadError('bad');
          },
          { drain: true },
        );
        const byId = new Map(seen.map((j) => [j.id, j]));
        expect(byId.get('with')).toMatchObject({ data: { v: 1 }, source });
        expect(byId.get('without')?.data).toEqual({ v: 2 });
        expect(byId.get('without')?.source).toBeUndefined();
        const dead = await q.listDead();
        expect(
          dead.map((d) => d.data).sort((a, b) => (a as { v: number }).v - (b as { v: number }).v),
        ).toEqual([{ v: 1 }, { v: 2 }]);
      } finally {
        await q.close();
      }
    });

    it('pruneCompleted drops completed jobs past the retention; their ids can be added again', async () => {
      const q = open('prune');
      try {
        await q.addBulk([
          { id: 'old-1', name: 'n', data: 1 },
          { id: 'old-2', name: 'n', data: 2 },
        ]);
        await q.consume(async () => undefined, { drain: true });
        // Finished jobs younger than the retention stay.
        expect(await q.pruneCompleted(60_000)).toBe(0);
        expect((await q.counts()).completed).toBe(2);
        await new Promise((r) => setTimeout(r, 30));
        await q.add({ id: 'waiting-1', name: 'n', data: 3 });
        expect(await q.pruneCompleted(10)).toBe(2);
        const c = await q.counts();
        expect(c.completed).toBe(0);
        expect(c.waiting).toBe(1);
        // The deduplication window has passed for the pruned ids: they are new again.
        expect(await q.add({ id: 'old-1', name: 'n', data: 4 })).toBe(true);
        await expect(q.pruneCompleted(-1)).rejects.toMatchObject({ code: 'E020' });
      } finally {
        await q.close();
      }
    });

    it('runs every job once with concurrency and drains', async () => {
      const q = open('conc');
      try {
        const n = 200;
        await q.addBulk(Array.from({ length: n }, (_, i) => ({ id: `j-${i}`, name: 'work', data: { i } })));
        const ids: string[] = [];
        let inFlight = 0;
        let maxInFlight = 0;
        await q.consume(
          async (job) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await new Promise((r) => setTimeout(r, 2));
            ids.push(job.id);
            expect(job.name).toBe('work');
            expect(job.attempt).toBe(1);
            inFlight--;
          },
          { concurrency: 8, drain: true },
        );
        expect(ids.length).toBe(n);
        expect(new Set(ids).size).toBe(n);
        expect(maxInFlight).toBeGreaterThan(1);
        expect(maxInFlight).toBeLessThanOrEqual(8);
        const c = await q.counts();
        expect(c).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: n, dead: 0 });
      } finally {
        await q.close();
      }
    });

    it('retries with exponential backoff, then succeeds', async () => {
      const q = open('retry', { attempts: 4, backoffMs: 100 });
      try {
        await q.add({ id: 'flaky', name: 'n', data: null });
        const times: number[] = [];
        const outcomes: string[] = [];
        await q.consume(
          async (job) => {
            times.push(Date.now());
            if (job.attempt < 3) throw new Error(`transient failure ${job.attempt}`);
          },
          { drain: true, onJob: (e) => outcomes.push(e.outcome) },
        );
        expect(outcomes).toEqual(['retry', 'retry', 'completed']);
        expect(times.length).toBe(3);
        const [t0 = 0, t1 = 0, t2 = 0] = times;
        expect(t1 - t0).toBeGreaterThanOrEqual(90);
        expect(t2 - t1).toBeGreaterThanOrEqual(190); // doubled
      } finally {
        await q.close();
      }
    });

    it('a job held up by its environment (full disk, Redis refused) runs again without using an attempt, however long the fault lasts', async () => {
      const q = open('env-wait', { attempts: 2, backoffMs: 20 });
      try {
        await q.add({ id: 'held-up', name: 'n', data: { v: 1 } });
        const runs: number[] = [];
        const outcomes: string[] = [];
        const times: number[] = [];
        await q.consume(
          async (job) => {
            runs.push(job.attempt);
            times.push(Date.now());
            // Six faults where two attempts are allowed: a disk full as the store words it, then
            // a refused connection; nothing is wrong with the job.
            if (runs.length <= 4) throw fromOsError(diskFull('/data/ts/wal/000001.log')) as Error;
            if (runs.length <= 6)
              throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
          },
          { drain: true, onJob: (e) => outcomes.push(e.outcome) },
        );
        expect(outcomes).toEqual(['wait', 'wait', 'wait', 'wait', 'wait', 'wait', 'completed']);
        expect(runs, 'no run used an attempt').toEqual([1, 1, 1, 1, 1, 1, 1]);
        const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
        expect(gaps[0]).toBeGreaterThanOrEqual(15);
        expect(gaps[3], 'the wait doubles').toBeGreaterThanOrEqual(140);
        const c = await q.counts();
        expect({ completed: c.completed, dead: c.dead }).toEqual({ completed: 1, dead: 0 });
      } finally {
        await q.close();
      }
    });

    it('waits on the environment do not hide failures of the job itself: those still use attempts', async () => {
      const q = open('env-then-own', { attempts: 2, backoffMs: 20 });
      try {
        await q.add({ id: 'own-fault', name: 'n', data: null });
        const runs: number[] = [];
        const outcomes: string[] = [];
        await q.consume(
          async (job) => {
            runs.push(job.attempt);
            if (runs.length % 2 === 1) throw fromOsError(diskFull('/data/ts/seg.parquet')) as Error;
            throw new Error('handler bug: cannot read property x of undefined');
          },
          { drain: true, onJob: (e) => outcomes.push(e.outcome) },
        );
        expect(outcomes).toEqual(['wait', 'retry', 'wait', 'dead']);
        expect(runs).toEqual([1, 1, 2, 2]);
        const [dead] = await q.listDead();
        expect(dead?.error).toContain('handler bug');
      } finally {
        await q.close();
      }
    });

    it('dead-letters after the last attempt; list, retry and purge dead letters', async () => {
      const q = open('dead', { attempts: 2, backoffMs: 20 });
      try {
        await q.addBulk([
          { id: 'bad-1', name: 'n', data: { v: 1 } },
          { id: 'bad-2', name: 'n', data: { v: 2 } },
        ]);
        let calls = 0;
        await q.consume(
          async () => {
            calls++;
            throw new Error('always fails');
          },
          { drain: true },
        );
        expect(calls).toBe(4);
        const c = await q.counts();
        expect(c.dead).toBe(2);
        expect(c.failed).toBe(2);
        const dead = await q.listDead();
        expect(dead.map((d) => d.id).sort()).toEqual(['bad-1', 'bad-2']);
        expect(dead[0]?.error).toContain('always fails');
        expect(dead[0]?.attempts).toBe(2);
        expect(await q.retryDead(['bad-1'])).toBe(1);
        const ok: string[] = [];
        await q.consume(async (job) => void ok.push(job.id), { drain: true });
        expect(ok).toEqual(['bad-1']);
        expect((await q.counts()).dead).toBe(1);
        expect(await q.purgeDead()).toBe(1);
        expect((await q.counts()).dead).toBe(0);
        expect(await q.listDead()).toEqual([]);
      } finally {
        await q.close();
      }
    });

    it('a permanent error (invalid payload) dead-letters at once', async () => {
      const q = open('perm', { attempts: 5, backoffMs: 20 });
      try {
        await q.add({ id: 'invalid', name: 'n', data: {} });
        let calls = 0;
        await q.consume(
          async () => {
            calls++;
            throw new JobPayloadError('Job invalid: field value is missing');
          },
          { drain: true },
        );
        expect(calls).toBe(1);
        const [dead] = await q.listDead();
        expect(dead?.error).toContain('value is missing');
      } finally {
        await q.close();
      }
    });

    it('stops on abort after the jobs in flight finish', async () => {
      const q = open('abort');
      try {
        await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ id: `a-${i}`, name: 'n', data: i })));
        const ac = new AbortController();
        let done = 0;
        await q.consume(
          async () => {
            await new Promise((r) => setTimeout(r, 5));
            done++;
            if (done === 5) ac.abort();
          },
          { signal: ac.signal, concurrency: 2 },
        );
        const c = await q.counts();
        expect(c.active).toBe(0);
        expect(c.completed).toBe(done);
        expect(c.waiting).toBe(50 - done);
      } finally {
        await q.close();
      }
    });
  });
}
