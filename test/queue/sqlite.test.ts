import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { tempDir } from '../helpers/tmp.ts';
import { queueConformance } from './conformance.ts';

const dir = tempDir('sluice-queue');
queueConformance('sqlite', (opts) =>
  createSqliteQueue({ ...opts, path: path.join(dir, 'queue.db'), pollMs: 10 }),
);

describe('SQLite queue handBack', () => {
  it('gives a running job back to waiting with its attempt undone; the handler finishing late changes nothing', async () => {
    const file = path.join(tempDir('sluice-queue-handback'), 'q.db');
    const queue = createSqliteQueue({ path: file, name: 'hb', pollMs: 10 });
    await queue.add({ id: 'j1', name: 'n', data: { a: 1 } });
    let finish: () => void = () => {};
    const started = new Promise<number>((resolve) => {
      const ac = new AbortController();
      const consuming = queue.consume(
        (job) => {
          resolve(job.attempt);
          ac.abort();
          return new Promise<void>((r) => (finish = r));
        },
        { signal: ac.signal },
      );
      void consuming;
    });
    expect(await started).toBe(1);
    expect((await queue.counts()).active).toBe(1);
    expect(await queue.handBack?.()).toBe(1);
    expect(await queue.counts()).toMatchObject({ active: 0, waiting: 1, completed: 0 });
    finish(); // the interrupted run ends after all: the job stays the next worker's
    await new Promise((r) => setTimeout(r, 20));
    expect(await queue.counts()).toMatchObject({ active: 0, waiting: 1, completed: 0 });
    const again = createSqliteQueue({ path: file, name: 'hb', pollMs: 10 });
    const attempts: number[] = [];
    await again.consume(async (job) => void attempts.push(job.attempt), { drain: true });
    expect(attempts).toEqual([1]);
    expect(await again.counts()).toMatchObject({ completed: 1, waiting: 0 });
    await again.close();
    await queue.close();
  });
});

describe('SQLite queue, a stored row that is not JSON', () => {
  it('dead-letters that job at once with E062 naming it (secret masked); the others run and the worker goes on', async () => {
    const file = path.join(tempDir('sluice-queue-badrow'), 'q.db');
    const queue = createSqliteQueue({ path: file, name: 'bad', pollMs: 10 });
    await queue.addBulk(['a', 'b', 'c'].map((id) => ({ id, name: 'n', data: { id } })));
    const db = new DatabaseSync(file);
    // What a hand edit or another program could leave: cut JSON holding a token.
    db.prepare(`UPDATE sluice_jobs SET data = ? WHERE id = 'b'`).run('{"token=abcdef123456", "x": ');
    db.close();
    const ran: string[] = [];
    const outcomes: { id: string; outcome: string; code?: string }[] = [];
    await queue.consume(async (job) => void ran.push(job.id), {
      drain: true,
      onJob: ({ job, outcome, error }) =>
        outcomes.push({ id: job.id, outcome, ...(error ? { code: (error as { code?: string }).code } : {}) }),
    });
    expect(ran.sort()).toEqual(['a', 'c']);
    expect(outcomes).toContainEqual({ id: 'b', outcome: 'dead', code: 'E062' });
    const [dead] = await queue.listDead();
    expect(dead?.id).toBe('b');
    expect(dead?.error).toMatch(/^job b: its stored data is not valid JSON/);
    expect(dead?.error).not.toContain('abcdef123456');
    expect(String(dead?.data)).not.toContain('abcdef123456');
    expect(await queue.counts()).toMatchObject({ completed: 2, dead: 1, active: 0 });
    await queue.close();
  });
});
