import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Poller, recordJobId } from '../../src/poller/poller.ts';
import { sourceScope } from '../../src/poller/source.ts';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys, scratchDirs } from './fixtures.ts';

const scratch = scratchDirs('poll-unit');

function setup(label: string) {
  const dir = scratch(label);
  const watched = path.join(dir, 'in');
  const db = path.join(dir, 'q.db');
  const store = openStorage(watched);
  const queue = createSqliteQueue({ path: db, name: `p-${randomBytes(3).toString('hex')}`, pollMs: 10 });
  const state = createSqliteStateStore(db, watched);
  return { dir, watched, store, queue, state };
}

describe('Poller', () => {
  it('job ids are stable per key + ETag + record and differ otherwise', () => {
    const a = recordJobId('s3://b/', 'k.csv', 'e1', 1);
    expect(recordJobId('s3://b/', 'k.csv', 'e1', 1)).toBe(a);
    expect(recordJobId('s3://b/', 'k.csv', 'e1', 2)).not.toBe(a);
    expect(recordJobId('s3://b/', 'k.csv', 'e2', 1)).not.toBe(a);
    expect(recordJobId('s3://c/', 'k.csv', 'e1', 1)).not.toBe(a);
    expect(a).toMatch(/^r[0-9a-f]{40}$/);
  });

  it('backpressure: stops taking objects while the backlog is above the bound', async () => {
    const s = setup('poll-bp');
    for (let i = 0; i < 20; i++)
      await s.store.put(`o${String(i).padStart(2, '0')}.json`, `{"name":"n","value":${i}}`);
    const poller = new Poller({
      source: s.watched,
      queue: s.queue,
      state: s.state,
      minAgeMs: 0,
      maxBacklog: 5,
      concurrency: 1,
    });
    const ac = new AbortController();
    const polling = poller.pollOnce(ac.signal);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await s.queue.counts()).waiting).toBeLessThanOrEqual(6);
    // A consumer drains the queue; the poller goes on and finishes.
    const consuming = s.queue.consume(async () => {}, { signal: ac.signal, concurrency: 4 });
    const summary = await polling;
    ac.abort();
    await consuming;
    expect(summary.archived).toBe(20);
    expect(poller.metrics.backlog.get).toBeDefined();
    await poller.close();
    await s.state.close();
    await s.queue.close();
  });

  it('objects above maxObjectBytes go to failed/ unread, with a report', async () => {
    const s = setup('poll-size');
    await s.store.put('big.jsonl', `${'{"name":"n","value":1}\n'.repeat(100)}`);
    await s.store.put('small.json', '{"name":"n","value":1}');
    const poller = new Poller({
      source: s.watched,
      queue: s.queue,
      state: s.state,
      minAgeMs: 0,
      maxObjectBytes: 1000,
    });
    const summary = await poller.pollOnce();
    expect(summary).toMatchObject({ archived: 1, failed: 1, records: 1 });
    const report = JSON.parse((await s.store.get('failed/big.jsonl.error.json')).toString());
    expect(report.code).toBe('E061');
    expect(report.message).toContain('maxObjectBytes=1000');
    await poller.close();
    await s.state.close();
    await s.queue.close();
  });

  it('archive and failed prefixes can be URLs of other storage', async () => {
    const s = setup('poll-urls');
    const archive = path.join(s.dir, 'archive');
    const failed = path.join(s.dir, 'failed-elsewhere');
    await s.store.put('a/b/ok.csv', 'name,value\nx,1\n');
    await s.store.put('a/bad.json', '{');
    const poller = new Poller({
      source: s.watched,
      queue: s.queue,
      state: s.state,
      minAgeMs: 0,
      processedPrefix: archive,
      failedPrefix: failed,
    });
    expect(await poller.pollOnce()).toMatchObject({ archived: 1, failed: 1 });
    expect(await listKeys(openStorage(archive), '')).toEqual(['a/b/ok.csv']);
    expect(await listKeys(openStorage(failed), '')).toEqual(['a/bad.json', 'a/bad.json.error.json']);
    expect(await listKeys(s.store, '')).toEqual([]);
    await poller.close();
    await s.state.close();
    await s.queue.close();
  });

  it('SIGTERM-style abort: objects in flight finish, no new ones start', async () => {
    const s = setup('poll-abort');
    for (let i = 0; i < 200; i++) await s.store.put(`o${i}.jsonl`, '{"name":"n","value":1}\n'.repeat(50));
    const poller = new Poller({
      source: s.watched,
      queue: s.queue,
      state: s.state,
      minAgeMs: 0,
      concurrency: 2,
    });
    const ac = new AbortController();
    let started = 0;
    const p = poller.pollOnce(ac.signal);
    setTimeout(() => ac.abort(), 100);
    const summary = await p;
    started = summary.archived;
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(200);
    // Every archived object had all of its records enqueued; the rest are untouched.
    expect((await s.queue.counts()).waiting).toBe(started * 50);
    expect((await listKeys(s.store, 'processed/')).length).toBe(started);
    await poller.close();
    await s.state.close();
    await s.queue.close();
  });

  it('sourceScope names a place however it is spelled', () => {
    expect(sourceScope('s3://bkt/in')).toBe(sourceScope('s3://bkt/in/'));
    expect(sourceScope('s3://bkt/in/?endpoint=http://x')).toBe('s3://bkt/in/');
    expect(sourceScope('./drop')).toBe(sourceScope(path.resolve('drop')));
    expect(sourceScope('s3://bkt/a/')).not.toBe(sourceScope('s3://bkt/b/'));
  });

  it('rejects bad options naming them', () => {
    const s = setup('poll-opts');
    expect(() => new Poller({ source: s.watched, queue: s.queue, state: s.state, concurrency: 0 })).toThrow(
      /concurrency/,
    );
    expect(
      () => new Poller({ source: s.watched, queue: s.queue, state: s.state, jsonArray: 'rows' as 'records' }),
    ).toThrow(/jsonArray/);
  });
});
