/**
 * The SQLite queue and the poller's SQLite state on a real full disk (a small tmpfs, see
 * helpers/full-disk.ts). SQLite answers SQLITE_FULL and rolls the transaction back itself; the
 * queue used to issue its own ROLLBACK on top and report "cannot rollback - no transaction is
 * active" instead of the full disk.
 */
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import type { Job, JobToAdd } from '../../src/queue/types.ts';
import { useFullDisk } from '../helpers/full-disk.ts';

const disk = useFullDisk('sqlite-full', '8m');

const jobs = (prefix: string, n: number, pad = 0): JobToAdd[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    name: 'ingest',
    data: { i, pad: 'p'.repeat(pad) },
  }));

describe('SQLite on a full disk', () => {
  it('the queue refuses a batch with E012 naming its file, keeps every added job, adds none of the batch, and adds again once space is freed', async () => {
    const file = path.join(disk.dir, 'queue', 'jobs.db');
    const queue = createSqliteQueue({ path: file, name: 'full' });
    onTestFinished(() => disk.free());
    expect(await queue.addBulk(jobs('kept', 200))).toBe(200);

    expect(disk.fill(64 << 10).code).toBe('ENOSPC');
    // About 5 MB of payload: it cannot fit.
    const refused = queue.addBulk(jobs('big', 5000, 1000));
    await expect(refused).rejects.toMatchObject({ code: 'E012' });
    await expect(refused).rejects.toThrow(`disk full writing ${file}`);
    await expect(refused).rejects.not.toThrow(/cannot rollback/);
    expect((await queue.counts()).waiting).toBe(200);

    // Single jobs until one is refused: SQLite first reuses the space its log already holds.
    disk.fill();
    const accepted: string[] = [];
    let refusedOne: unknown;
    for (let i = 0; i < 500 && refusedOne === undefined; i++) {
      await queue.add({ id: `one-${i}`, name: 'ingest', data: { pad: 'q'.repeat(20_000) } }).then(
        () => accepted.push(`one-${i}`),
        (error: unknown) => {
          refusedOne = error;
        },
      );
    }
    expect(refusedOne).toMatchObject({ code: 'E012' });
    expect((await queue.counts()).waiting).toBe(200 + accepted.length);

    disk.free();
    expect(await queue.addBulk(jobs('after', 50, 1000))).toBe(50);
    await queue.close();

    const again = createSqliteQueue({ path: file, name: 'full', create: false, pollMs: 5 });
    try {
      const seen: string[] = [];
      await again.consume(
        async (job: Job) => {
          seen.push(job.id);
        },
        { drain: true, concurrency: 4 },
      );
      const ids = (list: JobToAdd[]) => list.map((j) => j.id);
      expect(seen.sort()).toEqual([...ids(jobs('kept', 200)), ...accepted, ...ids(jobs('after', 50))].sort());
    } finally {
      await again.close();
    }
  });

  it('the poller state refuses a claim with E012 and claims again once space is freed', async () => {
    const file = path.join(disk.dir, 'poller', 'state.db');
    const state = createSqliteStateStore(file, 'watched');
    try {
      expect((await state.claim('a.json', 'e1', 60_000)).claimed).toBe(true);
      await state.mark('a.json', 'e1', 'done');
      disk.fill();
      let refused: unknown;
      // Each commit appends a page to SQLite's log: once none is left, the claim is refused.
      for (let i = 0; i < 200 && refused === undefined; i++)
        await state.claim(`k${i}-${'x'.repeat(2000)}`, 'e', 60_000).catch((error: unknown) => {
          refused = error;
        });
      expect(refused).toMatchObject({ code: 'E012' });
      expect(String((refused as Error).message)).toContain(`disk full writing ${file}`);
      disk.free();
      expect(await state.claim('a.json', 'e1', 60_000)).toEqual({ claimed: false, status: 'done' });
      expect((await state.claim('b.json', 'e1', 60_000)).claimed).toBe(true);
    } finally {
      disk.free();
      await state.close();
    }
  });
});
