import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/open.ts';
import { TimeSeriesStore } from '../../src/timeseries/store.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { runCli, scratchDirs } from './fixtures.ts';

const scratch = scratchDirs('poll-pipe');

const iso = (minute: number) => new Date(Date.UTC(2024, 0, 1, 0, minute)).toISOString();

async function queryCli(store: string, variable: string): Promise<{ timestamp: string; value: number }[]> {
  const r = await runCli(['ts', 'query', store, variable, '--format', 'jsonl']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('poller → queue → sluice worker → time-series store', () => {
  it.each(['sqlite', 'bullmq'] as const)(
    'points are queryable (%s queue)',
    async (kind) => {
      const b = await freshBucket(`pipe-${kind}`);
      const root = openStorage(b.url(), s3Options());
      for (let i = 0; i < 10; i++) {
        await root.put(
          `incoming/json/t${i}.json`,
          JSON.stringify({ name: 'temp', value: i, timestamp: iso(i) }),
        );
        const csv = [
          'name,value,timestamp',
          ...[0, 1, 2, 3, 4].map((j) => `humidity,${i * 5 + j},${iso(i * 5 + j)}`),
        ];
        await root.put(`incoming/csv/h${i}.csv`, `${csv.join('\n')}\n`);
        const lines = [0, 1, 2].map((j) =>
          JSON.stringify({ name: 'pressure', value: 1000 + i * 3 + j, timestamp: iso(i * 3 + j) }),
        );
        await root.put(`incoming/jsonl/p${i}.jsonl.gz`, gzipSync(lines.join('\n')));
      }
      // One invalid payload (dead-lettered by the worker) and one without a timestamp (stored at "now").
      await root.put('incoming/odd/bad.csv', 'name,value\nhumidity,n/a\n');
      await root.put('incoming/odd/now.json', JSON.stringify({ name: 'wind', value: 7 }));
      const dir = scratch(`pipe-${kind}`);
      const store = path.join(dir, 'ts');
      const queueUrl =
        kind === 'sqlite'
          ? `sqlite:${path.join(dir, 'q.db')}`
          : `redis://127.0.0.1:6379/0?prefix=sluice-test-${randomBytes(4).toString('hex')}`;
      const name = `pipe-${randomBytes(3).toString('hex')}`;
      const q = ['--queue', queueUrl, '--queue-name', name];
      const poll = await runCli(
        ['poll', '--source', b.url('incoming/'), ...q, '--once', '--min-age', '0s'],
        b.env,
      );
      expect(poll.code, poll.stderr).toBe(0);
      expect(JSON.parse(poll.stdout)).toMatchObject({ archived: 32, failed: 0, records: 10 + 50 + 30 + 2 });
      const work = await runCli([
        'worker',
        ...q,
        '--handler',
        'ingest_and_score_signal',
        '--store',
        store,
        '--drain',
        '--concurrency',
        '8',
      ]);
      expect(work.code, work.stderr).toBe(0);
      expect(JSON.parse(work.stdout)).toEqual({ completed: 91, retried: 0, waited: 0, dead: 1 });
      const temp = await queryCli(store, 'temp');
      expect(temp.map((p) => p.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(temp[3]?.timestamp).toContain('2024-01-01T00:03:00');
      const humidity = await queryCli(store, 'humidity');
      expect(humidity.map((p) => p.value)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect((await queryCli(store, 'pressure')).length).toBe(30);
      // Also through the library API, with the metadata the handler adds.
      const ts = await TimeSeriesStore.open(store, { readOnly: true });
      try {
        const [wind] = await ts.queryAll('wind');
        expect(wind?.value).toBe(7);
        expect(
          Math.abs(wind ? Date.parse(wind.timestamp) - Date.now() : Number.POSITIVE_INFINITY),
        ).toBeLessThan(120_000);
        expect(wind?.metadata).toMatchObject({ source: 'celery' });
      } finally {
        await ts.close();
      }
      const dead = await runCli(['queue', 'dead', ...q, '--json']);
      const [bad] = JSON.parse(dead.stdout);
      expect(bad.data).toEqual({ name: 'humidity', value: 'n/a' });
      expect(bad.error).toContain('value');
      await root.close();
    },
    120_000,
  );
});
