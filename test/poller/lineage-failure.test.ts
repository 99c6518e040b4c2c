/**
 * A listing's lineage records are sent at its end without waiting; when that write fails (S3
 * throttling, a reset) the poller goes on: a warning and `errors{kind="lineage"}`, the records
 * kept and written with the next flush. Before, the failed write was an unhandled rejection,
 * which ends a Node process (CI saw it under the fault proxy's 503s).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GroupedLineageLog } from '../../src/lineage/index.ts';
import { Poller } from '../../src/poller/poller.ts';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys, scratchDirs } from './fixtures.ts';

const scratch = scratchDirs('poll-lineage-fail');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Poller lineage write failing at the end of a listing', () => {
  it('is a warning and a counted error, not an unhandled rejection, and its records land with the next flush', async () => {
    const dir = scratch('fail');
    const watched = path.join(dir, 'in');
    const db = path.join(dir, 'q.db');
    const store = openStorage(watched);
    for (let i = 0; i < 3; i++) await store.put(`o${i}.json`, `{"name":"n","value":${i}}`);
    const queue = createSqliteQueue({ path: db, name: `l-${randomBytes(3).toString('hex')}`, pollMs: 10 });
    const state = createSqliteStateStore(db, watched);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    // The listing's flush fails as S3 throttling does; later flushes go through.
    const flush = GroupedLineageLog.prototype.flush;
    let calls = 0;
    vi.spyOn(GroupedLineageLog.prototype, 'flush').mockImplementation(function (this: GroupedLineageLog) {
      if (++calls === 1)
        return Promise.reject(
          Object.assign(new Error('SlowDown (Please reduce your request rate.)'), { code: 'E002' }),
        );
      return flush.call(this);
    });
    const poller = new Poller({ source: watched, queue, state, minAgeMs: 0, concurrency: 2 });
    try {
      const summary = await poller.pollOnce();
      expect(summary.archived).toBe(3);
      await new Promise((r) => setTimeout(r, 50));
      expect(calls).toBe(1);
      expect(unhandled).toEqual([]);
      const errors = await poller.metrics.errors.get();
      expect(errors.values.find((v) => v.labels.kind === 'lineage')?.value).toBe(1);
    } finally {
      await poller.close();
      process.off('unhandledRejection', onUnhandled);
      await state.close();
      await queue.close();
    }
    // Every intent has its commit: the records the failed write held went with the close's flush.
    const records: { kind: string; id: string }[] = [];
    for (const key of await listKeys(store, '_sluice/lineage/'))
      for (const line of (await store.get(key)).toString().trim().split('\n')) records.push(JSON.parse(line));
    const intents = records.filter((r) => r.kind === 'intent').map((r) => r.id);
    const commits = records.filter((r) => r.kind === 'commit').map((r) => r.id);
    expect(intents.length).toBeGreaterThanOrEqual(3);
    expect(commits.sort()).toEqual(intents.sort());
    await store.close();
  });
});
