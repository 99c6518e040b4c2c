/**
 * Writes of one millisecond come back from readLineage in the order they were made: the reader
 * orders them by id, so ids must sort in that order — across the logs one process makes (a group
 * log makes one per object) and past 36 writes of one log.
 */
import { describe, expect, it } from 'vitest';
import { LineageLog, readLineage } from '../../src/lineage/index.ts';
import { createMemoryStorage } from '../../src/storage/index.ts';

describe('lineage writes of one millisecond', () => {
  it('keep the order they were made, across logs and past 36 writes of one log', async () => {
    const storage = createMemoryStorage();
    const instant = new Date('2026-12-06T00:00:00.000Z');
    const planned = (n: number) => ({ output: `mem://o/${n}`, operation: `op.${n}`, inputs: [] });
    const one = new LineageLog(storage, { now: () => instant });
    await one.begin(Array.from({ length: 40 }, (_, i) => planned(i)));
    await one.flush();
    // Logs made one after another in the same millisecond, each with one write.
    for (let n = 40; n < 50; n++) {
      const log = new LineageLog(storage, { now: () => instant });
      await log.begin([planned(n)]);
      await log.flush();
    }
    const { writes } = await readLineage(storage);
    expect(writes.map((w) => w.intent.operation)).toEqual(Array.from({ length: 50 }, (_, n) => `op.${n}`));
  });
});
