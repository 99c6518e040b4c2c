import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { auth, captureLog, TOKENS, testServer } from './helpers.ts';

const logs = captureLog();
const server = testServer({
  log: logs.log,
  section: { limits: { maxQueryPoints: 50, maxPointsPerRequest: 100 } },
});
const { app } = server;
afterAll(() => server.close());

const get = (url: string, headers: Record<string, string> = auth('read')) => app.request(url, { headers });
const postJson = (url: string, body: unknown, headers: Record<string, string> = auth('write')) =>
  app.request(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { ...headers, 'Content-Type': 'application/json' },
  });

beforeAll(async () => {
  const lines = Array.from(
    { length: 40 },
    (_, i) => `sensor,site=s${i % 2} temp=${i},hum=${100 - i}i ${1_700_000_000 + i * 60}`,
  );
  const res = await app.request('/api/v2/write?bucket=q&precision=s', {
    method: 'POST',
    body: lines.join('\n'),
    headers: auth('write'),
  });
  expect(res.status).toBe(204);
});

describe('JSON points: POST /api/ts/<store>/points', () => {
  it('stores an array or {points}, with metadata, and answers 204', async () => {
    const t = '2024-01-01T00:00:00Z';
    expect(
      (
        await postJson('/api/ts/j/points', [
          { variable: 'a', timestamp: t, value: 1, metadata: { unit: 'C' } },
        ])
      ).status,
    ).toBe(204);
    expect(
      (
        await postJson('/api/ts/j/points', {
          points: [{ variable: 'a', timestamp: '2024-01-01T00:01:00Z', value: 'text' }],
        })
      ).status,
    ).toBe(204);
    const body = (await (await get('/api/ts/j/query?variable=a')).json()) as { points: unknown[] };
    expect(body.points).toEqual([
      {
        variable: 'a',
        timestamp: '2024-01-01T00:00:00.000000Z',
        micros: 1_704_067_200_000_000,
        value: 1,
        metadata: { unit: 'C' },
      },
      {
        variable: 'a',
        timestamp: '2024-01-01T00:01:00.000000Z',
        micros: 1_704_067_260_000_000,
        value: 'text',
      },
    ]);
  });

  it('refuses bad JSON and bad shapes with 400 naming the point, storing nothing', async () => {
    const bad = async (body: string) => {
      const res = await app.request('/api/ts/jbad/points', { method: 'POST', body, headers: auth('write') });
      expect(res.status, body).toBe(400);
      return (await res.json()) as { message: string; index?: number };
    };
    expect((await bad('{')).message).toMatch(/not valid JSON/);
    expect((await bad('{"nope":1}')).message).toMatch(/array of points/);
    expect((await bad('[{"variable":"a","value":1},7]')).index).toBe(1);
    expect((await bad('[{"variable":"a","value":1,"extra":2}]')).message).toMatch(/unknown key "extra"/);
    expect((await bad('[{"variable":"a"}]')).message).toMatch(/no value/);
    expect((await bad('[{"variable":"a","value":1,"timestamp":true}]')).message).toMatch(/timestamp/);
    expect((await bad('[{"variable":"ok","value":1},{"variable":"../x","value":2}]')).message).toMatch(
      /points\[1\]\.variable contains a path separator/,
    );
    expect((await bad('[{"variable":"a","value":{"x":1}}]')).message).toMatch(/value must be/);
    expect((await bad('[{"variable":"a","value":1,"timestamp":"2024-13-45"}]')).message).toMatch(
      /timestamp must be/,
    );
    expect((await bad('[{"variable":"a","value":1,"metadata":[1]}]')).message).toMatch(
      /metadata must be an object/,
    );
    expect(
      (await bad(`[{"variable":"a","value":1,"metadata":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}]`)).message,
    ).toMatch(/deeper than 64/);
    expect(existsSync(path.join(server.root, 'jbad'))).toBe(false);
  });

  it('413 past the point limit', async () => {
    const points = Array.from({ length: 101 }, (_, i) => ({ variable: 'a', value: i }));
    expect((await postJson('/api/ts/jlim/points', points)).status).toBe(413);
  });
});

describe('queries: GET /api/ts/<store>/query', () => {
  it('returns points of one or more variables in a time range, in order', async () => {
    const res = await get(
      '/api/ts/q/query?variable=sensor.temp&variable=sensor.hum&from=2023-11-14T22:20:00Z&to=2023-11-14T22:23:00Z',
    );
    const body = (await res.json()) as { points: { variable: string; value: number; metadata: unknown }[] };
    expect(body.points.map((p) => [p.variable, p.value])).toEqual([
      ['sensor.temp', 7],
      ['sensor.temp', 8],
      ['sensor.temp', 9],
      ['sensor.hum', 93],
      ['sensor.hum', 92],
      ['sensor.hum', 91],
    ]);
    expect(body.points[0]?.metadata).toEqual({ site: 's1' });
  });

  it('limit and order desc; `limited` names the variables cut at their limit', async () => {
    const body = (await (await get('/api/ts/q/query?variable=sensor.temp&limit=3&order=desc')).json()) as {
      points: { value: number }[];
      limited: string[];
    };
    expect(body.points.map((p) => p.value)).toEqual([39, 38, 37]);
    expect(body.limited).toEqual(['sensor.temp']);
  });

  it('refuses a range larger than maxQueryPoints instead of cutting it short', async () => {
    const res = await get('/api/ts/q/query?variable=sensor.temp&variable=sensor.hum');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/more than 50 points/);
  });

  it('aggregates into buckets (agg + every)', async () => {
    const body = (await (await get('/api/ts/q/query?variable=sensor.temp&agg=max&every=10m')).json()) as {
      rows: { value: number; count: number }[];
    };
    expect(body.rows.map((r) => r.count).reduce((a, b) => a + b)).toBe(40);
    expect(Math.max(...body.rows.map((r) => r.value))).toBe(39);
  });

  it('latest: of the named variables, or of all', async () => {
    const one = (await (await get('/api/ts/q/query?variable=sensor.hum&latest=true')).json()) as {
      points: { value: number }[];
    };
    expect(one.points.map((p) => p.value)).toEqual([61]);
    const all = (await (await get('/api/ts/q/query?latest=1')).json()) as { points: { variable: string }[] };
    expect(all.points.map((p) => p.variable).sort()).toEqual(['sensor.hum', 'sensor.temp']);
  });

  it('answers CSV for Accept: text/csv (and format=csv)', async () => {
    const res = await get('/api/ts/q/query?variable=sensor.temp&limit=2', {
      ...auth('read'),
      Accept: 'text/csv',
    });
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    expect(await res.text()).toBe(
      'variable,timestamp,value,metadata\nsensor.temp,2023-11-14T22:13:20.000000Z,0,"{""site"":""s0""}"\nsensor.temp,2023-11-14T22:14:20.000000Z,1,"{""site"":""s1""}"\n',
    );
    const agg = await (
      await get('/api/ts/q/query?variable=sensor.temp&agg=count&every=1h&format=csv')
    ).text();
    expect(agg.split('\n')[0]).toBe('variable,bucket,value,count');
  });

  it('400 on parameters it cannot read', async () => {
    for (const q of [
      '',
      'variable=a&from=yesterday',
      'variable=a&limit=0',
      'variable=a&limit=x',
      'variable=a&order=up',
      'variable=a&agg=median&every=1m',
      'variable=a&agg=avg',
      'variable=a&agg=avg&every=soon',
      'variable=a&format=xml',
    ]) {
      expect((await get(`/api/ts/q/query?${q}`)).status, q).toBe(400);
    }
  });

  it('404 for a store that does not exist, and does not create it', async () => {
    const res = await get('/api/ts/missing/query?variable=a');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /no time-series store named "missing"/,
    );
    expect(existsSync(path.join(server.root, 'missing'))).toBe(false);
  });

  it('needs the read scope: 401 without a token, 403 with a write-only token', async () => {
    expect((await get('/api/ts/q/query?variable=a', {})).status).toBe(401);
    expect((await get('/api/ts/q/query?variable=a', auth('write'))).status).toBe(403);
    expect((await get('/api/ts/q/query?variable=sensor.temp&limit=1', auth('admin'))).status).toBe(200);
  });
});

describe('stores', () => {
  it('GET /api/ts lists the stores; GET /api/ts/<store> gives stats and variables', async () => {
    const list = (await (await get('/api/ts')).json()) as { stores: { name: string; open: boolean }[] };
    expect(list.stores.find((s) => s.name === 'q')).toEqual({ name: 'q', open: true });
    const info = (await (await get('/api/ts/q')).json()) as {
      variables: string[];
      stats: { variables: number };
    };
    expect(info.variables.sort()).toEqual(['sensor.hum', 'sensor.temp']);
    expect(info.stats.variables).toBe(2);
  });

  it('POST /api/ts/<store>/compact needs the admin scope', async () => {
    expect((await app.request('/api/ts/q/compact', { method: 'POST', headers: auth('write') })).status).toBe(
      403,
    );
    const res = await app.request('/api/ts/q/compact', { method: 'POST', headers: auth('admin') });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { points: number }).points).toBe(80);
    expect(
      (await (await get('/api/ts/q/query?variable=sensor.temp&limit=1')).json()) as object,
    ).toMatchObject({ points: [{ value: 0 }] });
  });

  it('with autoCreate off, a write to a new store is 404 and creates nothing', async () => {
    const strict = testServer({ section: { timeseries: { autoCreate: false } } });
    try {
      const res = await strict.app.request('/api/v2/write?bucket=fresh', {
        method: 'POST',
        body: 'm v=1',
        headers: auth('write'),
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { message: string }).message).toMatch(/does not create stores/);
      expect(existsSync(path.join(strict.root, 'fresh'))).toBe(false);
    } finally {
      await strict.close();
    }
  });
});

describe('probes, metrics, errors, logs', () => {
  it('/healthz, /ping', async () => {
    expect(await (await app.request('/healthz')).json()).toMatchObject({ status: 'ok' });
    const ping = await app.request('/ping');
    expect(ping.status).toBe(204);
    expect(ping.headers.get('x-influxdb-version')).toMatch(/^sluice-/);
  });

  it('/readyz: 200 with the time-series root up, 503 when it cannot be written', async () => {
    const ready = (await (await app.request('/readyz')).json()) as {
      status: string;
      dependencies: { name: string; state: string }[];
    };
    expect(ready.status).toBe('ready');
    expect(ready.dependencies).toMatchObject([{ name: 'timeseries root', state: 'up' }]);
    const dir = tempDir('sluice-serve-file');
    writeFileSync(path.join(dir, 'file'), 'x');
    const broken = testServer({ section: { timeseries: { root: path.join(dir, 'file', 'ts') } } });
    const res = await broken.app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      ready: false,
      dependencies: [{ state: 'down', error: expect.stringMatching(/not a folder/) }],
    });
    // A write there fails inside the server: 500 with no path or detail in the answer.
    const write = await broken.app.request('/api/v2/write?bucket=x', {
      method: 'POST',
      body: 'm v=1',
      headers: auth('write'),
    });
    expect(write.status).toBeGreaterThanOrEqual(500);
    expect(await write.text()).not.toContain(dir);
    await broken.close();
  });

  it('/metrics counts requests by route pattern and status', async () => {
    await get('/api/ts/q/query?variable=x&limit=1');
    await app.request('/no/such/route/123');
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(
      /sluice_http_requests_total\{method="GET",route="\/api\/ts\/:store\/query",status="200"\} \d+/,
    );
    expect(text).toMatch(/sluice_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).toMatch(/sluice_http_ingest_points_total\{store="q",protocol="influx_v2"\} 80/);
    expect(text).toContain('sluice_http_request_duration_seconds_bucket');
    expect(text).not.toContain('/no/such/route');
  });

  it('unknown routes are 404 JSON', async () => {
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not found' });
  });

  it('request logs name the route, status and token label, never a token value', async () => {
    await app.request(`/write?db=logs&u=me&p=${TOKENS.write}&api_key=k-123`, {
      method: 'POST',
      body: 'm v=1',
    });
    const text = logs.text();
    expect(text).toContain('"route":"/write"');
    expect(text).toContain('p=********');
    expect(text).toContain('"caller":"write#1"');
    for (const token of Object.values(TOKENS)) expect(text).not.toContain(token);
    expect(text).not.toContain('k-123');
  });
});
