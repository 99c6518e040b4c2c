import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { auth, TOKENS, testSocketServer } from './helpers.ts';

/** A POST whose body is sent by the caller, piece by piece, over a real socket. */
function openPost(url: string, headers: Record<string, string>) {
  const u = new URL(url);
  let settle: (r: { status: number; body: string } | { error: string }) => void = () => {};
  const done = new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
    settle = resolve;
  });
  const req = httpRequest(
    { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'POST', headers },
    (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => settle({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => settle({ error: e.message }));
    },
  );
  req.on('error', (e) => settle({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
  return { req, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function storedValues(root: string, store: string, variable: string): Promise<unknown[]> {
  const s = await TimeSeriesStore.open(path.join(root, store), { readOnly: true });
  try {
    return (await s.queryAll(variable)).map((p) => p.value);
  } finally {
    await s.close();
  }
}

describe('over a real socket', () => {
  it('binds 127.0.0.1 on a free port and serves writes and queries', async () => {
    const server = await testSocketServer();
    try {
      expect(server.host).toBe('127.0.0.1');
      expect(server.port).toBeGreaterThan(0);
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const w = await fetch(`${server.url}/api/v2/write?bucket=sock&precision=s`, {
        method: 'POST',
        body: 'm v=1 1\nm v=2 2',
        headers: auth('write'),
      });
      expect(w.status).toBe(204);
      const q = await fetch(`${server.url}/api/ts/sock/query?variable=m.v`, { headers: auth('read') });
      expect(((await q.json()) as { points: { value: number }[] }).points.map((p) => p.value)).toEqual([
        1, 2,
      ]);
    } finally {
      await server.stop();
    }
  });

  it('drains a request in flight on stop: it completes (204, durable), new connections are refused', async () => {
    const server = await testSocketServer({ section: { shutdownGrace: '10s' } });
    const { req, done } = openPost(`${server.url}/api/v2/write?bucket=drain&precision=s`, {
      ...auth('write'),
      'Transfer-Encoding': 'chunked',
    });
    req.write('m v=1 1\n');
    await sleep(200); // the server has the request and waits for the rest of its body
    expect(server.inFlight()).toBe(1);
    const stopped = server.stop();
    await sleep(100);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    req.end('m v=2 2\n');
    expect(await done).toEqual({ status: 204, body: '' });
    expect(await stopped).toEqual({ cutOff: 0, schedules: { abandoned: [], finished: [] } });
    expect(await storedValues(server.root, 'drain', 'm.v')).toEqual([1, 2]);
  });

  it('cuts a request still running after the grace period, and stores nothing of it', async () => {
    const server = await testSocketServer({ section: { shutdownGrace: 0.3 } });
    const { req, done } = openPost(`${server.url}/api/v2/write?bucket=cut&precision=s`, {
      ...auth('write'),
      'Transfer-Encoding': 'chunked',
    });
    req.write('m v=1 1\n');
    await sleep(200);
    const started = performance.now();
    expect(await server.stop()).toEqual({ cutOff: 1, schedules: { abandoned: [], finished: [] } });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await done).toHaveProperty('error');
    await expect(TimeSeriesStore.open(path.join(server.root, 'cut'), { readOnly: true })).rejects.toThrow(
      /No time-series store/,
    );
  });

  it('answers 413 while a chunked body is still arriving past the limit', async () => {
    const server = await testSocketServer({ section: { limits: { maxBodySize: 64 * 1024 } } });
    try {
      const { req, done } = openPost(`${server.url}/write?db=big&p=${TOKENS.write}`, {
        'Transfer-Encoding': 'chunked',
      });
      const chunk = 'm v=1\n'.repeat(2000); // 12 KB
      let sent = 0;
      let answered = false;
      void done.then(() => {
        answered = true;
      });
      while (!answered && sent < 200) {
        req.write(chunk);
        sent++;
        await sleep(5);
      }
      req.end();
      const res = await done;
      expect(res).toMatchObject({ status: 413 });
      expect(sent).toBeLessThan(200); // answered before the client finished sending 2.4 MB
    } finally {
      await server.stop();
    }
  });

  it('refuses a second server on the same port with a message saying what to change', async () => {
    const first = await testSocketServer();
    try {
      await expect(testSocketServer({ section: { port: first.port } })).rejects.toThrow(/port is in use/);
    } finally {
      await first.stop();
    }
  });
});
