/**
 * `GET /api/ts/<store>/series`, the explorer's chart data: a range of a million points answers
 * with about one bucket per pixel (computed in the store), a zoom asks for a narrower range at a
 * finer bucket width, bucket values are the store's own aggregates, and bad requests are 400s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketWidthMs, MAX_SERIES, toColumns } from '../../src/server/routes/series.ts';
import type { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { auth, testServer } from './helpers.ts';

interface SeriesAnswer {
  message: string;
  everyMs: number | null;
  from: number;
  x: number[];
  y: (number | null)[][];
  counts: number[];
  points: number;
}

const START = Date.UTC(2026, 0, 1);
/** Points per variable, one a second (≈ 5.8 days). */
const PER_VARIABLE = 500_000;

describe('GET /api/ts/<store>/series', () => {
  const server = testServer();
  let store: TimeSeriesStore;
  const series = async (query: string, scope: 'read' | 'write' = 'read') => {
    const res = await server.app.request(`/api/ts/plant/series?${query}`, { headers: auth(scope) });
    return {
      status: res.status,
      body: (await res.json()) as SeriesAnswer,
      bytes: Number(res.headers.get('content-length') ?? 0),
    };
  };

  beforeAll(async () => {
    store = await server.context.stores.forWrite('plant');
    for (const variable of ['a', 'b']) {
      for (let i = 0; i < PER_VARIABLE; i += 100_000) {
        const batch = [];
        for (let j = i; j < i + 100_000; j++)
          batch.push({ variable, timestamp: START + j * 1000, value: variable === 'a' ? j % 100 : -j });
        await store.storeDataPoints(batch);
      }
    }
    await store.compact();
  }, 120_000);
  afterAll(() => server.close());

  it('downsamples a million points into about one bucket per pixel, in the store', async () => {
    const started = performance.now();
    const { status, body } = await series('variable=a&variable=b&width=1000');
    const ms = performance.now() - started;
    expect(status).toBe(200);
    // 500,000 s over 1,000 px is 500 s a bucket: the next nice width is 10 min.
    expect(body.everyMs).toBe(600_000);
    expect(body.x.length).toBeLessThanOrEqual(1000);
    expect(body.x.length).toBeGreaterThan(800);
    expect(body.y).toHaveLength(2);
    expect(body.counts).toEqual([PER_VARIABLE, PER_VARIABLE]);
    expect(body.points).toBe(2 * PER_VARIABLE);
    expect(body.from).toBe(START / 1000);
    // The raw points of the same range are more than a query may answer.
    const raw = await server.app.request('/api/ts/plant/query?variable=a&variable=b', {
      headers: auth('read'),
    });
    expect(raw.status).toBe(400);
    console.log(`series of ${2 * PER_VARIABLE} points → ${body.x.length} buckets in ${ms.toFixed(0)} ms`);
  });

  it('answers each bucket with the store’s own aggregate', async () => {
    const { body } = await series(`variable=a&width=100&agg=max&from=${START}&to=${START + 3_600_000}`);
    expect(body.everyMs).toBe(60_000);
    const rows = await store.aggregate('a', { every: 60_000, fn: 'max', from: START, to: START + 3_600_000 });
    expect(body.x).toEqual(rows.map((r) => r.bucketMicros / 1e6));
    expect(body.y[0]).toEqual(rows.map((r) => r.value));
    expect(body.counts).toEqual([3600]);
  });

  it('a zoom asks for a narrower range and gets finer buckets covering exactly its points', async () => {
    const from = START + 100_000_000;
    const to = from + 600_000;
    const { body } = await series(`variable=b&width=600&from=${from}&to=${to}`);
    expect(body.everyMs).toBe(1000);
    expect(body.counts).toEqual([600]);
    expect(body.x[0]).toBe(from / 1000);
    expect(body.y[0]?.[0]).toBe(-(from - START) / 1000);
    const iso = await series(
      `variable=b&width=600&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
    );
    expect(iso.body.x).toEqual(body.x);
  });

  it('refuses what it cannot answer with a 400, an unknown store with a 404, and needs the read scope', async () => {
    const bad: [string, RegExp][] = [
      ['width=100', /name at least one variable/],
      [Array.from({ length: MAX_SERIES + 1 }, (_, i) => `variable=v${i}`).join('&'), /at most 20 variables/],
      ['variable=a&width=0', /width must be a whole number from 1 to 4000/],
      ['variable=a&width=5000', /width must be/],
      ['variable=a&agg=median', /agg must be one of/],
      [`variable=a&from=${START + 1000}&to=${START}`, /to must be after from/],
      ['variable=a&from=yesterday', /from "yesterday" is not a time/],
    ];
    for (const [query, message] of bad) {
      const { status, body } = await series(query);
      expect(status, query).toBe(400);
      expect(body.message, query).toMatch(message);
    }
    expect(
      (await server.app.request('/api/ts/nope/series?variable=a', { headers: auth('read') })).status,
    ).toBe(404);
    expect((await server.app.request('/api/ts/plant/series?variable=a')).status).toBe(401);
    expect((await series('variable=a', 'write')).status).toBe(403);
  });

  it('an empty store or a variable without points answers empty columns', async () => {
    await server.context.stores.forWrite('empty');
    const res = await server.app.request('/api/ts/empty/series?variable=x', { headers: auth('read') });
    expect(await res.json()).toMatchObject({ x: [], y: [[]], counts: [0], points: 0, everyMs: null });
    const { body } = await series(`variable=zzz&from=${START}&to=${START + 60_000}`);
    expect(body).toMatchObject({ x: [], y: [[]], counts: [0] });
  });
});

describe('bucket widths and columns', () => {
  it('rounds the width per pixel up to a nice step', () => {
    expect(bucketWidthMs(1000, 1000)).toBe(1);
    expect(bucketWidthMs(1001, 1000)).toBe(2);
    expect(bucketWidthMs(3 * 86_400_000, 1000)).toBe(300_000);
    expect(bucketWidthMs(86_400_000, 1000)).toBe(120_000);
    expect(bucketWidthMs(0, 1000)).toBe(1);
    expect(bucketWidthMs(100 * 365 * 86_400_000, 100)).toBe(365 * 86_400_000);
  });

  it('joins variables on their bucket starts, null where one has no value', () => {
    const row = (variable: string, s: number, value: number | string | boolean | null, count = 1) => ({
      variable,
      bucket: new Date(s * 1000).toISOString(),
      bucketMicros: s * 1e6,
      value,
      count,
    });
    const out = toColumns(
      [row('a', 10, 1, 2), row('b', 20, true), row('a', 20, 'text'), row('b', 30, null, 0)],
      ['a', 'b'],
    );
    expect(out).toEqual({
      x: [10, 20, 30],
      y: [
        [1, null, null],
        [null, 1, null],
      ],
      counts: [3, 1],
    });
  });
});
