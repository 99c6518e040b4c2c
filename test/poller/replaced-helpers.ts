/**
 * What the replaced-object tests share: two versions of one object with known records, a queue
 * and state in a scratch folder, wrappers that act at an exact moment of the poller's work, and
 * the check that every record of the versions read reached the queue exactly once.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'vitest';
import type { Poller, PollSummary } from '../../src/poller/poller.ts';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import type { JobQueue, JobToAdd } from '../../src/queue/types.ts';
import { expectEachRecordOnce } from './fixtures.ts';

/** JSONL of `count` records tagged `<version>:<n>`; versions differ in length, so in ETag on every driver. */
export function version(name: string, count: number): { body: string; tags: string[] } {
  const tags = Array.from({ length: count }, (_, i) => `${name}:${i}`);
  return {
    body: tags.map((tag, i) => `${JSON.stringify({ name: 'sensor', value: i, tag })}\n`).join(''),
    tags,
  };
}

export const V1 = version('v1', 2);
export const V2 = version('v2', 3);

export function queueAndState(dir: string, scope: string) {
  const db = path.join(dir, 'q.db');
  const name = `r-${randomBytes(3).toString('hex')}`;
  const queue = createSqliteQueue({ path: db, name, pollMs: 10 });
  const state = createSqliteStateStore(db, scope);
  return {
    queue,
    state,
    /** Every record of these tags is in the queue once (drains it). */
    expectRecords: (tags: string[]) => expectEachRecordOnce(`sqlite:${db}`, name, tags),
    async close() {
      await state.close();
      await queue.close();
    },
  };
}

/** `target` with one method replaced; every other member still bound to the target. */
export function withMethod<T extends object, K extends keyof T>(target: T, name: K, method: T[K]): T {
  return new Proxy(target, {
    get(t, p) {
      if (p === name) return method;
      const v = Reflect.get(t, p, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

/**
 * A queue that runs `act` once, on its first addBulk: after the object was read whole, before
 * it is archived. `fired()` says how many addBulk calls it saw.
 */
export function queueActingOnce(queue: JobQueue, act: () => Promise<void>) {
  let calls = 0;
  const wrapped = withMethod(queue, 'addBulk', async (jobs: JobToAdd[]) => {
    if (calls++ === 0) await act();
    return queue.addBulk(jobs);
  });
  return { queue: wrapped, fired: () => calls };
}

export async function outcomeCount(poller: Poller, outcome: string): Promise<number> {
  const metric = await poller.metrics.objects.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

/** The summary of a poll in which one object was replaced after its records were queued. */
export function expectReplacedAfterQueued(summary: PollSummary): void {
  expect(summary).toMatchObject({
    listed: 1,
    archived: 0,
    replaced: 1,
    failed: 0,
    deferred: 0,
    records: V1.tags.length,
  });
}

/** The summary of the next poll, which reads and archives the new version. */
export function expectNewVersionArchived(summary: PollSummary): void {
  expect(summary).toMatchObject({
    listed: 1,
    archived: 1,
    replaced: 0,
    failed: 0,
    deferred: 0,
    records: V2.tags.length,
  });
}
