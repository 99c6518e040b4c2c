import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from '../../src/queue/open.ts';
import { freePort } from '../helpers/redis-server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { auth, testServer } from './helpers.ts';

const dir = tempDir('sluice-serve-queues');
const url = `sqlite:${path.join(dir, 'q.db')}`;
let server: ReturnType<typeof testServer>;

beforeAll(async () => {
  const queue = openQueue(url, { name: 'jobs', attempts: 1 });
  await queue.addBulk([
    { id: 'ok-1', name: 'ingest', data: { n: 1 } },
    { id: 'bad-1', name: 'ingest', data: { n: 2, api_token: 'tok-should-never-show-1234' } },
  ]);
  await queue.consume(
    async (job) => {
      if (job.id === 'bad-1') throw new Error('GET https://api.example.com/v1?api_key=hunter2secret failed');
    },
    { drain: true },
  );
  await queue.close();
  const port = await freePort();
  server = testServer({
    dir,
    queues: [
      { url, name: 'jobs' },
      { url: `redis://127.0.0.1:${port}/0`, name: 'jobs' },
    ],
  });
});
afterAll(() => server.close());

describe('queues API', () => {
  it('GET /api/queues lists each queue with its counts, or why it cannot be counted', async () => {
    const res = await server.app.request('/api/queues', { headers: auth('read') });
    const body = (await res.json()) as {
      queues: { id: string; kind: string; counts?: { dead: number; completed: number }; error?: string }[];
    };
    expect(body.queues[0]).toMatchObject({ id: 'jobs', kind: 'sqlite', counts: { dead: 1, completed: 1 } });
    expect(body.queues[1]).toMatchObject({ id: 'jobs-2', kind: 'redis' });
    expect(body.queues[1]?.error).toMatch(/Cannot reach|did not answer/);
  });

  it('GET /api/queues/<id>/dead lists dead jobs with secrets masked', async () => {
    const res = await server.app.request('/api/queues/jobs/dead', { headers: auth('read') });
    const text = await res.text();
    expect(JSON.parse(text).jobs).toMatchObject([{ id: 'bad-1', data: { n: 2 } }]);
    expect(text).not.toContain('tok-should-never-show');
    expect(text).not.toContain('hunter2secret');
  });

  it('POST /api/queues/<id>/retry needs admin and moves dead jobs back to waiting', async () => {
    const post = (headers: Record<string, string>, body = '') =>
      server.app.request('/api/queues/jobs/retry', { method: 'POST', headers, body });
    expect((await post(auth('read'))).status).toBe(403);
    expect((await post(auth('admin'), '{"ids": 7}')).status).toBe(400);
    const res = await post(auth('admin'), JSON.stringify({ ids: ['bad-1'] }));
    expect(await res.json()).toEqual({ queue: 'jobs', retried: 1 });
    const counts = (await (await server.app.request('/api/queues', { headers: auth('read') })).json()) as {
      queues: { counts?: { dead: number; waiting: number } }[];
    };
    expect(counts.queues[0]?.counts).toMatchObject({ dead: 0, waiting: 1 });
  });

  it('404 for a queue the config does not name', async () => {
    expect((await server.app.request('/api/queues/other/dead', { headers: auth('read') })).status).toBe(404);
  });
});
