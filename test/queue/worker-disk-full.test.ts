/**
 * A worker whose store's disk is full for longer than all of a job's attempts would last: every
 * job waits (no attempt used, none dead-lettered) and every point is stored once space is back.
 * Real store, real SQLite queue, a real tmpfs filled until the kernel answers ENOSPC.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createIngestAndScoreHandler } from '../../src/jobs/ingest-and-score.ts';
import { openSignalStore } from '../../src/jobs/signal-store.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import type { JobOutcome } from '../../src/queue/types.ts';
import { TimeSeriesStore } from '../../src/timeseries/store.ts';
import { useFullDisk } from '../helpers/full-disk.ts';
import { tempDir } from '../helpers/tmp.ts';

const disk = useFullDisk('worker-full', '16m');
const BASE = Date.UTC(2030, 0, 1);

describe('a worker on a full disk', () => {
  it('jobs wait out a full disk that outlasts their attempts, none is dead-lettered, every point lands once space is back', async () => {
    const storeDir = path.join(disk.dir, 'ts');
    const store = await openSignalStore(storeDir);
    const queue = createSqliteQueue({
      path: path.join(tempDir('worker-full-queue'), 'q.db'),
      name: 'full',
      attempts: 2,
      backoffMs: 20,
      pollMs: 10,
    });
    onTestFinished(async () => {
      disk.free();
      await queue.close();
    });
    const n = 40;
    await queue.addBulk(
      Array.from({ length: n }, (_, i) => ({
        id: `job-${i}`,
        name: 'ingest_and_score_signal',
        data: { name: `v${i % 4}`, value: i, timestamp: new Date(BASE + i * 1000).toISOString() },
      })),
    );
    const outcomes: { id: string; outcome: JobOutcome; attempt: number; error?: string }[] = [];
    disk.fill();
    const stop = new AbortController();
    const consuming = queue.consume(createIngestAndScoreHandler(store), {
      concurrency: 4,
      signal: stop.signal,
      onJob: (e) =>
        outcomes.push({
          id: e.job.id,
          outcome: e.outcome,
          attempt: e.job.attempt,
          ...(e.error ? { error: String(e.error) } : {}),
        }),
    });
    // Two attempts with a 20 ms backoff are over in well under a second; the disk stays full 2 s.
    await sleep(2000);
    const waits = outcomes.filter((o) => o.outcome === 'wait');
    expect(waits.length, 'the full disk was seen').toBeGreaterThan(0);
    expect(waits[0]?.error).toMatch(/disk full|ENOSPC|no space left/);
    expect(outcomes.filter((o) => o.outcome === 'dead' || o.outcome === 'retry')).toEqual([]);
    disk.free();
    for (let t = 0; t < 300 && (await queue.counts()).completed < n; t++) await sleep(50);
    stop.abort();
    await consuming;
    await store.close();
    const counts = await queue.counts();
    expect({ completed: counts.completed, dead: counts.dead }).toEqual({ completed: n, dead: 0 });
    expect(
      outcomes.every((o) => o.attempt === 1),
      'no run used an attempt',
    ).toBe(true);
    const reader = await TimeSeriesStore.open(storeDir, { readOnly: true });
    try {
      let stored = 0;
      for (let v = 0; v < 4; v++) {
        const rows = await reader.queryAll(`v${v}`);
        stored += rows.length;
        expect(rows.map((r) => r.value)).toEqual(Array.from({ length: n / 4 }, (_, k) => k * 4 + v));
      }
      expect(stored).toBe(n);
    } finally {
      await reader.close();
    }
  }, 60_000);
});
