/**
 * The dashboard's other routes in-process: who a token is, the pollers (settings, counters, rates
 * and failed objects with their masked reports), queue rates, and the page and its files (only a
 * fixed list, with a Content-Security-Policy whose hash matches the page's import map).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPollerMetrics, createRegistry, createWorkerMetrics } from '../../src/metrics/registry.ts';
import { resolvePollerConfig } from '../../src/poller/config.ts';
import { openQueue } from '../../src/queue/open.ts';
import type { QueueCounts } from '../../src/queue/types.ts';
import { UI_FILES } from '../../src/server/dashboard/assets.ts';
import type { FailedObject, PollerSummary, ProcessCounters } from '../../src/server/pollers.ts';
import { RateWindow } from '../../src/server/rates.ts';
import { tempDir } from '../helpers/tmp.ts';
import { auth, TOKENS, testServer } from './helpers.ts';

interface PollersAnswer {
  pollers: PollerSummary[];
  counters: ProcessCounters;
  rates: Record<string, number> | null;
}
interface FailedAnswer {
  total: number;
  objects: FailedObject[];
}
interface QueuesAnswer {
  queues: { counts?: QueueCounts; rates: Record<string, number> | null }[];
}

describe('GET /api/whoami', () => {
  const server = testServer();
  afterAll(() => server.close());

  it('names the token and its scopes, never the token; 401 without a valid one', async () => {
    for (const [scope, scopes] of [
      ['read', ['read']],
      ['write', ['write']],
      ['admin', ['read', 'write', 'admin']],
    ] as const) {
      const res = await server.app.request('/api/whoami', { headers: auth(scope, 'Bearer') });
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ label: `${scope}#1`, scopes });
      expect(text).not.toContain(TOKENS[scope]);
    }
    expect((await server.app.request('/api/whoami')).status).toBe(401);
    const bad = await server.app.request('/api/whoami', {
      headers: { Authorization: 'Bearer not-a-token-at-all-1234' },
    });
    expect(bad.status).toBe(401);
  });
});

describe('pollers API', () => {
  const dir = tempDir('dash-pollers');
  const inbox = path.join(dir, 'inbox');
  const registry = createRegistry();
  const pollerMetrics = createPollerMetrics(registry);
  const workerMetrics = createWorkerMetrics(registry);
  const poller = resolvePollerConfig({
    flags: { source: inbox, queue: `sqlite:${path.join(dir, 'q.db')}`, interval: '30s' } as never,
  });
  let server: ReturnType<typeof testServer>;

  beforeAll(() => {
    mkdirSync(path.join(inbox, 'failed', 'day1'), { recursive: true });
    writeFileSync(path.join(inbox, 'failed', 'day1', 'a.csv'), 'x\n');
    writeFileSync(
      path.join(inbox, 'failed', 'day1', 'a.csv.error.json'),
      JSON.stringify({
        code: 'E021',
        message: 'a.csv: row 3 from https://feed.example.com/x?api_key=hunter2secret is broken',
        line: 3,
        row: 2,
        failedAt: '2026-01-02T00:00:00.000Z',
      }),
    );
    writeFileSync(path.join(inbox, 'failed', 'b.json'), '{');
    writeFileSync(path.join(inbox, 'failed', 'b.json.error.json'), '{not json');
    server = testServer({ dir, registry, pollers: [poller], pollerMetrics, workerMetrics });
  });
  afterAll(() => server.close());
  afterEach(() => vi.useRealTimers());

  it('needs the read scope', async () => {
    expect((await server.app.request('/api/pollers')).status).toBe(401);
    expect((await server.app.request('/api/pollers', { headers: auth('write') })).status).toBe(403);
    expect(
      (await server.app.request('/api/pollers/poller-1/failed', { headers: auth('write') })).status,
    ).toBe(403);
  });

  it('lists the pollers and the process counters, with rates from the second answer on', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    pollerMetrics.objects.inc({ outcome: 'archived' }, 4);
    pollerMetrics.records.inc(40);
    workerMetrics.jobs.inc({ outcome: 'completed' }, 40);
    const first = (await (
      await server.app.request('/api/pollers', { headers: auth('read') })
    ).json()) as PollersAnswer;
    expect(first.pollers).toEqual([
      expect.objectContaining({ id: 'poller-1', source: inbox, queueName: 'sluice', intervalMs: 30_000 }),
    ]);
    expect(first.counters).toMatchObject({ objects: { archived: 4 }, records: 40, jobs: { completed: 40 } });
    expect(first.rates).toBeNull();
    vi.setSystemTime(new Date('2026-01-01T00:00:10Z'));
    pollerMetrics.objects.inc({ outcome: 'archived' }, 10);
    pollerMetrics.records.inc(100);
    const second = (await (
      await server.app.request('/api/pollers', { headers: auth('read') })
    ).json()) as PollersAnswer;
    expect(second.rates).toMatchObject({ 'objects.archived': 1, records: 10, 'jobs.completed': 0 });
  });

  it('lists failed objects with their reports, masked, newest first; an unreadable report says so', async () => {
    const res = await server.app.request('/api/pollers/poller-1/failed', { headers: auth('read') });
    const text = await res.text();
    expect(text).not.toContain('hunter2secret');
    const body = JSON.parse(text) as FailedAnswer;
    const [a, b] = body.objects as [FailedObject, FailedObject];
    expect(body.total).toBe(2);
    expect(a).toMatchObject({ key: 'day1/a.csv', code: 'E021', line: 3, row: 2 });
    expect(a.message).toMatch(/api_key=\*+/);
    expect(b).toMatchObject({ key: 'b.json', code: null });
    expect(b.message).toMatch(/cannot be read/);
    const one = (await (
      await server.app.request('/api/pollers/poller-1/failed?limit=1', { headers: auth('read') })
    ).json()) as FailedAnswer;
    expect(one.objects).toHaveLength(1);
    expect((await server.app.request('/api/pollers/poller-9/failed', { headers: auth('read') })).status).toBe(
      404,
    );
  });

  it('a poller whose failed folder does not exist has no failed objects', async () => {
    const other = resolvePollerConfig({ flags: { source: path.join(dir, 'empty-inbox') } as never });
    const s = testServer({ dir, pollers: [other] });
    try {
      const body = (await (
        await s.app.request('/api/pollers/poller-1/failed', { headers: auth('read') })
      ).json()) as FailedAnswer;
      expect(body).toMatchObject({ total: 0, objects: [] });
      // Without metrics (no poller running), every counter is zero.
      const list = (await (
        await s.app.request('/api/pollers', { headers: auth('read') })
      ).json()) as PollersAnswer;
      expect(list.counters).toMatchObject({ records: 0, backlog: 0, objects: {}, jobs: {} });
    } finally {
      await s.close();
    }
  });
});

describe('queue rates', () => {
  afterEach(() => vi.useRealTimers());

  it('GET /api/queues adds rates of each count from the second answer on', async () => {
    const dir = tempDir('dash-queue-rates');
    const url = `sqlite:${path.join(dir, 'q.db')}`;
    const queue = openQueue(url, { name: 'jobs' });
    const server = testServer({ dir, queues: [{ url, name: 'jobs' }] });
    try {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
      const ask = async () =>
        ((await (await server.app.request('/api/queues', { headers: auth('read') })).json()) as QueuesAnswer)
          .queues[0];
      expect((await ask())?.rates).toBeNull();
      await queue.addBulk(Array.from({ length: 20 }, (_, i) => ({ id: `j${i}`, name: 'n', data: {} })));
      vi.setSystemTime(new Date('2026-01-01T00:00:04Z'));
      expect(await ask()).toMatchObject({ counts: { waiting: 20 }, rates: { waiting: 5, completed: 0 } });
    } finally {
      await queue.close();
      await server.close();
    }
  });
});

describe('RateWindow', () => {
  it('rates against the oldest sample of the window that is old enough; a counter that fell restarts', () => {
    const w = new RateWindow({ windowMs: 60_000, minSpanMs: 2_000 });
    expect(w.observe('k', { a: 0 }, 0)).toBeUndefined();
    expect(w.observe('k', { a: 5 }, 1_000)).toBeUndefined();
    expect(w.observe('k', { a: 20 }, 10_000)).toEqual({ a: 2 });
    expect(w.observe('k', { a: 80 }, 70_000)).toEqual({ a: 1 });
    expect(w.observe('k', { a: 3 }, 75_000)).toEqual({ a: 0 });
    // Keys are separate series; values missing from the reference sample have no rate yet.
    expect(w.observe('other', { b: 1 }, 75_000)).toBeUndefined();
    expect(w.observe('k', { a: 10, c: 4 }, 80_000)).toEqual({ a: 0 });
  });

  it('keeps few samples under a burst of requests', () => {
    const w = new RateWindow();
    for (let t = 0; t < 10_000; t += 10) w.observe('k', { a: t }, t);
    expect(w.observe('k', { a: 10_000 }, 10_000)).toEqual({ a: 1000 });
    const samples = (w as unknown as { series: Map<string, unknown[]> }).series.get('k') ?? [];
    expect(samples.length).toBeLessThan(40);
  });
});

describe('the dashboard page and its files', () => {
  const server = testServer();
  afterAll(() => server.close());

  it('serves the page without a token, with a CSP whose script hash is the import map', async () => {
    const res = await server.app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const map = /<script type="importmap">([^<]*)<\/script>/.exec(html)?.[1] as string;
    const hash = createHash('sha256').update(map).digest('base64');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html).toContain('./ui/app.js');
    expect(html).not.toMatch(/token/i);
  });

  it('serves every module of the page and the vendored libraries, and nothing else', async () => {
    for (const file of UI_FILES) {
      const res = await server.app.request(`/ui/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(
        file.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
      );
    }
    for (const file of ['preact.mjs', 'preact-hooks.mjs', 'htm.mjs', 'uplot.mjs', 'uplot.css']) {
      const res = await server.app.request(`/vendor/${file}`);
      expect(res.status, file).toBe(200);
      expect(await res.text(), file).not.toContain('sourceMappingURL');
    }
    for (const bad of [
      '/ui/nope.js',
      '/ui/..%2Fassets.ts',
      '/ui/%2E%2E%2Fassets.ts',
      '/vendor/preact.mjs.map',
      '/vendor/__proto__',
      '/ui/',
    ])
      expect((await server.app.request(bad)).status, bad).toBe(404);
  });

  it('is not served when serve.dashboard is false', async () => {
    const s = testServer({ section: { dashboard: false } });
    try {
      expect((await s.app.request('/')).status).toBe(404);
      expect((await s.app.request('/ui/app.js')).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
