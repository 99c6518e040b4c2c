import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { auth, TOKENS, testServer } from './helpers.ts';

const server = testServer({ section: { limits: { maxBodySize: 1024 * 1024, maxPointsPerRequest: 1000 } } });
const { app } = server;
afterAll(() => server.close());

const write = (url: string, body: RequestInit['body'], headers: Record<string, string> = auth('write')) =>
  app.request(url, { method: 'POST', body, headers });

async function values(store: string, variable: string): Promise<unknown[]> {
  const res = await app.request(`/api/ts/${store}/query?variable=${encodeURIComponent(variable)}`, {
    headers: auth('read'),
  });
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  return ((await res.json()) as { points: { value: unknown }[] }).points.map((p) => p.value);
}

describe('InfluxDB v2 write: POST /api/v2/write', () => {
  it('stores every field of every line durably and answers 204', async () => {
    const res = await write(
      '/api/v2/write?org=any&bucket=v2a&precision=s',
      'cpu,host=a usage=1.5,n=2i 1700000000\ncpu,host=b usage=2.5 1700000001\n',
    );
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await values('v2a', 'cpu.usage')).toEqual([1.5, 2.5]);
    expect(await values('v2a', 'cpu.n')).toEqual([2]);
  });

  it('takes a gzip body (as the official client sends it)', async () => {
    const body = gzipSync('gz v=1 1\ngz v=2 2\n');
    const res = await write('/api/v2/write?bucket=v2gz&precision=s', body, {
      ...auth('write'),
      'Content-Encoding': 'gzip',
    });
    expect(res.status).toBe(204);
    expect(await values('v2gz', 'gz.v')).toEqual([1, 2]);
  });

  it('answers a bad line with 400 naming it, in InfluxDB v2 shape, and stores nothing of the request', async () => {
    expect((await write('/api/v2/write?bucket=v2bad', 'm v=1 1\n')).status).toBe(204);
    const res = await write('/api/v2/write?bucket=v2bad', 'm v=2 2\nm v=3 3\nm v=oops 4\nm v=5 5\n');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string; line: number };
    expect(body.code).toBe('invalid');
    expect(body.line).toBe(3);
    expect(body.message).toMatch(/line 3: unable to parse 'm v=oops 4'/);
    expect(await values('v2bad', 'm.v')).toEqual([1]);
  });

  it('creates no store for a refused request', async () => {
    const res = await write('/api/v2/write?bucket=never', 'm v=1\nm v=\n');
    expect(res.status).toBe(400);
    expect(existsSync(path.join(server.root, 'never'))).toBe(false);
  });

  it('refuses bytes that are not UTF-8, naming the line', async () => {
    const body = Buffer.concat([Buffer.from('m v=1\nm s="'), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]);
    const res = await write('/api/v2/write?bucket=utf', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { line: number }).line).toBe(2);
    expect(existsSync(path.join(server.root, 'utf'))).toBe(false);
  });

  it('needs a bucket and a known precision', async () => {
    expect((await write('/api/v2/write', 'm v=1')).status).toBe(400);
    const res = await write('/api/v2/write?bucket=b&precision=u', 'm v=1');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /precision "u" is not one of ns, us, ms, s/,
    );
  });

  it('refuses store names that could leave the root, creating nothing', async () => {
    for (const name of [
      '../escape',
      '..',
      '.hidden',
      'a/b',
      'a\\b',
      '%2e%2e',
      '',
      'x'.repeat(200),
      'a..b',
      'nul\u0000',
    ]) {
      const res = await write(`/api/v2/write?bucket=${encodeURIComponent(name)}`, 'm v=1');
      expect(res.status, name).toBe(400);
    }
    expect(readdirSync(path.dirname(server.root)).filter((f) => f === 'escape')).toEqual([]);
  });

  it('answers an empty body with 204 and creates nothing', async () => {
    expect((await write('/api/v2/write?bucket=empty', '# only a comment\n\n')).status).toBe(204);
    expect(existsSync(path.join(server.root, 'empty'))).toBe(false);
  });
});

describe('InfluxDB v1 write: POST /write', () => {
  it('stores points and answers 204 with u/p query credentials (the influx 1.x CLI)', async () => {
    const res = await write(
      `/write?db=v1a&precision=ms&u=me&p=${TOKENS.write}`,
      'mem used=10 1700000000000',
      {},
    );
    expect(res.status).toBe(204);
    expect(await values('v1a', 'mem.used')).toEqual([10]);
  });

  it('takes Basic auth with the token as password', async () => {
    const basic = `Basic ${Buffer.from(`someone:${TOKENS.write}`).toString('base64')}`;
    expect((await write('/write?db=v1b&precision=s', 'm v=1 1', { Authorization: basic })).status).toBe(204);
  });

  it('answers errors as InfluxDB 1.x does: {error}', async () => {
    const res = await write('/write?db=v1c', 'm v=1\nbad');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; line: number };
    expect(body.error).toMatch(/line 2: unable to parse 'bad': missing fields/);
    expect(body.line).toBe(2);
    const noDb = await write('/write', 'm v=1');
    expect(((await noDb.json()) as { error: string }).error).toMatch(/database is required/);
  });
});

describe('tokens', () => {
  const body = 'm v=1 1';
  it('401 without a token, with a challenge header', async () => {
    const res = await write('/api/v2/write?bucket=auth', body, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
  });

  it('401 with a token that is not ours (and never echoes it)', async () => {
    const res = await write('/api/v2/write?bucket=auth', body, {
      Authorization: 'Token not-a-real-token-1234567890',
    });
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('not-a-real-token');
  });

  it('403 with a token of another scope', async () => {
    const res = await write('/api/v2/write?bucket=auth', body, auth('read'));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(/read#1 lacks the write scope/);
    expect(existsSync(path.join(server.root, 'auth'))).toBe(false);
  });

  it('accepts Token and Bearer (any case), and admin for every scope', async () => {
    expect((await write('/api/v2/write?bucket=auth', body, auth('write', 'Bearer'))).status).toBe(204);
    expect((await write('/api/v2/write?bucket=auth', body, auth('write', 'token'))).status).toBe(204);
    expect((await write('/api/v2/write?bucket=auth', body, auth('admin'))).status).toBe(204);
  });

  it('does not take the p parameter on the v2 route, nor an unknown scheme', async () => {
    expect((await write(`/api/v2/write?bucket=auth&p=${TOKENS.write}`, body, {})).status).toBe(401);
    expect(
      (await write('/api/v2/write?bucket=auth', body, { Authorization: `Digest ${TOKENS.write}` })).status,
    ).toBe(401);
  });

  it('checks the token before reading or validating anything', async () => {
    const res = await write('/api/v2/write?bucket=../x', 'garbage', {});
    expect(res.status).toBe(401);
  });
});

describe('limits', () => {
  it('413 when Content-Length declares more than the limit, before reading', async () => {
    const res = await write('/api/v2/write?bucket=lim', 'm v=1', {
      ...auth('write'),
      'Content-Length': String(2 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { maxLength: number }).maxLength).toBe(1024 * 1024);
  });

  it('413 on a chunked body as soon as it passes the limit, without pulling the rest', async () => {
    let pulled = 0;
    const chunk = Buffer.from(`m v=1\n`.repeat(10_000)); // 60 KB
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 200) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await app.request('/api/v2/write?bucket=lim', {
      method: 'POST',
      body: stream,
      headers: auth('write'),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(30); // 1 MiB / 60 KB ≈ 18 chunks, plus what was buffered ahead
    expect(existsSync(path.join(server.root, 'lim'))).toBe(false);
  });

  it('413 on a gzip body that inflates past the limit (a small bomb)', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 'm v=1\n'));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const res = await write('/api/v2/write?bucket=lim', bomb, {
      ...auth('write'),
      'Content-Encoding': 'gzip',
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toMatch(/once inflated/);
  });

  it('400 on a body that claims gzip but is not, 415 on an encoding we do not speak', async () => {
    expect(
      (await write('/api/v2/write?bucket=lim', 'm v=1', { ...auth('write'), 'Content-Encoding': 'gzip' }))
        .status,
    ).toBe(400);
    expect(
      (await write('/api/v2/write?bucket=lim', 'm v=1', { ...auth('write'), 'Content-Encoding': 'br' }))
        .status,
    ).toBe(415);
  });

  it('413 past the per-request point limit (each field counts), nothing stored', async () => {
    const fields = Array.from({ length: 10 }, (_, i) => `f${i}=1`).join(',');
    const body = Array.from({ length: 101 }, (_, i) => `m ${fields} ${i}`).join('\n'); // 1010 points
    const res = await write('/api/v2/write?bucket=lim', body);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { maxPoints: number }).maxPoints).toBe(1000);
    expect(existsSync(path.join(server.root, 'lim'))).toBe(false);
    const ok = Array.from({ length: 100 }, (_, i) => `m ${fields} ${i}`).join('\n');
    expect((await write('/api/v2/write?bucket=lim', ok)).status).toBe(204);
  });
});
