/** OpenLineage delivery: a file, or a real HTTP collector that fails first (transient) or refuses (permanent). */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId, runEvent } from '../../src/lineage/openlineage.ts';
import { createOpenLineageEmitter, openLineageEndpoint } from '../../src/lineage/openlineage-transport.ts';
import { createLogger, getLogger, setLogger } from '../../src/logging/logger.ts';
import { tempDir } from '../helpers/tmp.ts';

const logLines: string[] = [];
const previous = getLogger();
beforeAll(() => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  setLogger(createLogger({ level: 'debug', destination: sink }));
});
afterAll(() => setLogger(previous));

/** A collector answering `statuses` in turn (the last repeats), recording what it received. */
async function collector(statuses: number[]) {
  const received: {
    path: string;
    auth: string | undefined;
    body: { eventType: string; run: { runId: string } };
  }[] = [];
  let n = 0;
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const status = statuses[Math.min(n++, statuses.length - 1)] as number;
    if (status < 300)
      received.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(body) });
    res.writeHead(status).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, requests: () => n, close: () => new Promise((r) => server.close(r)) };
}

const event = (type: 'START' | 'COMPLETE', runId: string) =>
  runEvent(type, {
    runId,
    job: 'pipeline.ingest',
    inputs: [],
    outputs: [{ url: 'file:///lake/a.parquet', rows: 1 }],
  });

describe('OpenLineage transport', () => {
  it('appends one JSON line per event to a file', async () => {
    const file = path.join(tempDir('ol-file'), 'events.jsonl');
    const emitter = createOpenLineageEmitter({ file });
    const runId = newRunId();
    await emitter.emit(event('START', runId));
    await emitter.emit(event('COMPLETE', runId));
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.eventType)).toEqual(['START', 'COMPLETE']);
  });

  it('POSTs to <url>/api/v1/lineage with the bearer token; a 503 and a 429 are retried until delivered', async () => {
    const c = await collector([503, 429, 201]);
    try {
      const emitter = createOpenLineageEmitter({ url: c.url, apiKey: 'OLKEY123', retryDelayMs: 5 });
      const runId = newRunId();
      await emitter.emit(event('START', runId));
      expect(c.requests()).toBe(3);
      expect(c.received).toEqual([
        {
          path: '/api/v1/lineage',
          auth: 'Bearer OLKEY123',
          body: expect.objectContaining({ eventType: 'START', run: expect.objectContaining({ runId }) }),
        },
      ]);
    } finally {
      await c.close();
    }
  });

  it('a 400 is not retried and does not throw: one warning names the run, never the key', async () => {
    const c = await collector([400]);
    try {
      const emitter = createOpenLineageEmitter({
        url: `${c.url}/api/v1/lineage`,
        apiKey: 'OLKEY456',
        retryDelayMs: 5,
      });
      const runId = newRunId();
      const before = logLines.length;
      await emitter.emit(event('COMPLETE', runId));
      expect(c.requests()).toBe(1);
      const warning = logLines.slice(before).find((l) => l.includes('OpenLineage event not delivered'));
      expect(warning).toContain(runId);
      expect(warning).toContain('refused the event with 400');
      expect(logLines.join('')).not.toContain('OLKEY456');
    } finally {
      await c.close();
    }
  });

  it('a collector that is down is retried, then warned about; the caller goes on', async () => {
    const c = await collector([201]);
    await c.close();
    const emitter = createOpenLineageEmitter({ url: c.url, attempts: 2, retryDelayMs: 5 });
    const before = logLines.length;
    await emitter.emit(event('START', newRunId()));
    expect(logLines.slice(before).join('')).toMatch(
      /OpenLineage event not delivered.*ECONNREFUSED|ECONNREFUSED.*OpenLineage event not delivered|fetch failed/s,
    );
  });

  it('endpoint: a base URL gets /api/v1/lineage, a full endpoint is kept', () => {
    expect(openLineageEndpoint('http://marquez:5000')).toBe('http://marquez:5000/api/v1/lineage');
    expect(openLineageEndpoint('http://marquez:5000/')).toBe('http://marquez:5000/api/v1/lineage');
    expect(openLineageEndpoint('http://m/api/v1/lineage')).toBe('http://m/api/v1/lineage');
  });
});
