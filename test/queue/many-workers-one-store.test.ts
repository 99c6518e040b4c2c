/**
 * The seed's own task scales out (issue #22): 8 `sluice worker` processes with the built-in
 * ingest_and_score_signal handler drain one queue into one time-series store, and every record
 * becomes a point. (Before, 7 of 8 exited with E071 before taking a job: one writer per store.)
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const JOBS = 4_000;

describe('many workers, one store', () => {
  it('8 worker processes with ingest_and_score_signal store every record as a point', async () => {
    const dir = tempDir('many-workers');
    const queueUrl = `sqlite:${path.join(dir, 'q.db')}`;
    const name = `mw-${randomBytes(3).toString('hex')}`;
    const queue = createSqliteQueue({ path: path.join(dir, 'q.db'), name });
    const t0 = Date.UTC(2024, 0, 1);
    await queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({
        id: `job-${i}`,
        name: 'ingest_and_score_signal',
        data: { name: `signal-${i % 4}`, value: i, timestamp: new Date(t0 + i * 1000).toISOString() },
      })),
    );
    await queue.close();
    const store = path.join(dir, 'ts');
    const runs = await Promise.all(
      Array.from({ length: 8 }, () =>
        runSluice([
          'worker',
          '--queue',
          queueUrl,
          '--queue-name',
          name,
          '--handler',
          'ingest_and_score_signal',
          '--store',
          store,
          '--drain',
        ]),
      ),
    );
    let completed = 0;
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout) as { completed: number; dead: number };
      expect(summary.dead).toBe(0);
      completed += summary.completed;
    }
    expect(completed).toBe(JOBS);
    // More than one worker took jobs (one job at a time each, so one worker alone would need
    // seconds for them all): the store had several writers at once.
    expect(
      runs.filter((r) => (JSON.parse(r.stdout) as { completed: number }).completed > 0).length,
    ).toBeGreaterThan(1);
    const ts = await TimeSeriesStore.open(store, { readOnly: true });
    try {
      const values: number[] = [];
      for (const v of await ts.variables())
        for (const p of await ts.queryAll(v)) values.push(p.value as number);
      expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: JOBS }, (_, i) => i));
    } finally {
      await ts.close();
    }
  }, 180_000);
});
