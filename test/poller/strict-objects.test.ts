/**
 * Broken objects are permanent failures: after one poll they sit in failed/ with a report, and
 * none of their records is queued, even when the bad row is row 900,000. Good objects beside
 * them are queued whole.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Poller } from '../../src/poller/poller.ts';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys, scratchDirs } from './fixtures.ts';

const scratch = scratchDirs('poll-strict');

describe('Poller with broken objects', () => {
  it('sends each broken object to failed/ at the first poll and queues none of its records', async () => {
    const dir = scratch('mixed');
    const watched = path.join(dir, 'in');
    const db = path.join(dir, 'q.db');
    const store = openStorage(watched);
    const queue = createSqliteQueue({ path: db, name: `s-${randomBytes(3).toString('hex')}`, pollMs: 10 });
    const state = createSqliteStateStore(db, watched);

    const rows = (n: number) => Array.from({ length: n }, (_, i) => `s${i % 7},${i}\n`).join('');
    await store.put('good.csv', `name,value\n${rows(2500)}`);
    await store.put('good.json', '{"name":"g","value":1}');
    // Row 900,000 has a third field; the 899,999 rows before it are valid.
    await store.put('late-bad.csv', `name,value\n${rows(899_999)}s,1,extra\n${rows(10)}`);
    await store.put('stray-quote.csv', 'name,value\na,1"2\n');
    await store.put(
      'bad-utf8.csv',
      Buffer.concat([Buffer.from('name,value\na,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]),
    );
    await store.put('dup-header.csv', 'name,name\na,1\n');

    const poller = new Poller({ source: watched, queue, state, minAgeMs: 0, concurrency: 2 });
    const summary = await poller.pollOnce();
    expect(summary).toMatchObject({ archived: 2, failed: 4, records: 2501, jobsAdded: 2501 });
    expect((await queue.counts()).waiting).toBe(2501);

    const failed = await listKeys(store, 'failed/');
    for (const key of ['late-bad.csv', 'stray-quote.csv', 'bad-utf8.csv', 'dup-header.csv']) {
      expect(failed).toContain(`failed/${key}`);
      const report = JSON.parse((await store.get(`failed/${key}.error.json`)).toString());
      expect(report.code).toBe('E021');
      expect(report.message).toContain(key);
    }
    const late = JSON.parse((await store.get('failed/late-bad.csv.error.json')).toString());
    expect(late.message).toContain('line 900001: 3 fields, but the header has 2');
    expect(late).toMatchObject({ line: 900_001, row: 900_000, recordsEnqueued: 0 });
    // A second poll finds nothing left to do: the failures are final, not retried.
    expect(await poller.pollOnce()).toMatchObject({ listed: 0, failed: 0, jobsAdded: 0 });
    await poller.close();
    await state.close();
    await queue.close();
  }, 60_000);
});
