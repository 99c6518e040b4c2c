/**
 * Content errors in JSON and JSONL objects are permanent: after one poll the object is in
 * failed/ with an E021 report naming the line, and none of its records is queued; good objects
 * beside it are queued. (A valid document nested 100,000 deep used to be queued and fail as E060
 * when serialised, then retried forever.)
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Poller } from '../../src/poller/poller.ts';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys, scratchDirs } from './fixtures.ts';

const scratch = scratchDirs('poll-strict-json');

describe('Poller with broken JSON', () => {
  it('sends deep, non-UTF-8 and big-integer objects to failed/ at once and queues only the good ones', async () => {
    const dir = scratch('strict');
    const watched = path.join(dir, 'in');
    const db = path.join(dir, 'q.db');
    const store = openStorage(watched);
    const queue = createSqliteQueue({ path: db, name: `sj-${randomBytes(3).toString('hex')}`, pollMs: 10 });
    const state = createSqliteStateStore(db, watched);
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    await store.put('deep.json', `{"name":"n","value":1,\n"nested":${deep}}`);
    await store.put(
      'utf8.json',
      Buffer.concat([Buffer.from('{"name":"n",\n"value":"'), Buffer.from([0xff]), Buffer.from('"}')]),
    );
    await store.put(
      'late.jsonl',
      '{"name":"n","value":1}\n{"name":"n","value":2}\n{"name":"n","value":9007199254740993}\n',
    );
    await store.put('good.json', '{"name":"good","value":1}');
    await store.put('good.jsonl', '{"name":"good","value":2}\r\n\n{"name":"good","value":3}');
    const poller = new Poller({ source: watched, queue, state, minAgeMs: 0, concurrency: 1 });

    expect(await poller.pollOnce()).toMatchObject({ archived: 2, failed: 3, records: 3 });

    expect(await listKeys(store, 'failed/')).toEqual([
      'failed/deep.json',
      'failed/deep.json.error.json',
      'failed/late.jsonl',
      'failed/late.jsonl.error.json',
      'failed/utf8.json',
      'failed/utf8.json.error.json',
    ]);
    const report = async (key: string) =>
      JSON.parse((await store.get(`failed/${key}.error.json`)).toString());
    expect(await report('deep.json')).toMatchObject({
      code: 'E021',
      message: expect.stringContaining(
        'deep.json: invalid JSON at line 2 column 521: nesting deeper than the limit of 512 levels',
      ),
    });
    expect(await report('utf8.json')).toMatchObject({
      code: 'E021',
      message: expect.stringContaining(
        'utf8.json: invalid JSON at line 2 column 10: invalid UTF-8 (byte 0xff',
      ),
    });
    expect(await report('late.jsonl')).toMatchObject({
      code: 'E021',
      message: expect.stringContaining(
        'late.jsonl: invalid JSONL at line 3 column 21: integer 9007199254740993',
      ),
    });

    // Only the good objects' records are queued (the broken JSONL's first two lines are not).
    const jobs: unknown[] = [];
    const ac = new AbortController();
    const consuming = queue.consume(
      async (job) => {
        jobs.push(job.data);
        if (jobs.length === 3) ac.abort();
      },
      { signal: ac.signal, concurrency: 1 },
    );
    await consuming;
    expect(jobs).toEqual(
      expect.arrayContaining([
        { name: 'good', value: 1 },
        { name: 'good', value: 2 },
        { name: 'good', value: 3 },
      ]),
    );
    expect(jobs).toHaveLength(3);
    expect((await queue.counts()).waiting).toBe(0);

    // The failures are final: a second poll finds nothing to do.
    expect(await poller.pollOnce()).toMatchObject({ archived: 0, failed: 0, records: 0 });
    await poller.close();
    await state.close();
    await queue.close();
  });
});
