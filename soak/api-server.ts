/**
 * The HTTP API `sluice fetch` ingests from: GET /batch/<id> answers the batch's records as a JSON
 * array. It injects the faults of a flaky API — 503, a connection reset after half the body, a
 * stall before the second half — at seeded rates, at most `maxFaultsPerBatch` per batch, so
 * `sluice fetch --retries` always gets through and no 5xx body lands in the lake as data.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Rng } from './rng.ts';

export interface ApiFaultRates {
  unavailable: number;
  reset: number;
  stall: number;
  stallMs: number;
  maxFaultsPerBatch: number;
}

export interface ApiCounters {
  requests: number;
  served: number;
  unavailable: number;
  resets: number;
  stalls: number;
}

export interface ApiServer {
  url(batchId: string): string;
  setBatch(batchId: string, records: readonly object[]): void;
  setRates(rates: ApiFaultRates): void;
  readonly counters: ApiCounters;
  close(): Promise<void>;
}

export async function startApiServer(rng: Rng): Promise<ApiServer> {
  const batches = new Map<string, Buffer>();
  const faultsPerBatch = new Map<string, number>();
  let rates: ApiFaultRates = { unavailable: 0, reset: 0, stall: 0, stallMs: 0, maxFaultsPerBatch: 0 };
  const counters: ApiCounters = { requests: 0, served: 0, unavailable: 0, resets: 0, stalls: 0 };

  const server = http.createServer((req, res) => {
    counters.requests++;
    const m = /^\/batch\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
    const body = m?.[1] ? batches.get(m[1]) : undefined;
    if (!m?.[1] || !body) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"no such batch"}');
      return;
    }
    const id = m[1];
    const used = faultsPerBatch.get(id) ?? 0;
    const budget = used < rates.maxFaultsPerBatch;
    const fault = !budget
      ? undefined
      : rng.chance(rates.unavailable)
        ? 'unavailable'
        : rng.chance(rates.reset)
          ? 'reset'
          : rng.chance(rates.stall)
            ? 'stall'
            : undefined;
    if (fault) faultsPerBatch.set(id, used + 1);
    if (fault === 'unavailable') {
      counters.unavailable++;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' });
      res.end('Service Unavailable');
      return;
    }
    const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
    const half = Math.floor(body.length / 2);
    if (fault === 'reset') {
      counters.resets++;
      res.writeHead(200, headers);
      res.write(body.subarray(0, half), () => res.socket?.destroy());
      return;
    }
    if (fault === 'stall') {
      counters.stalls++;
      res.writeHead(200, headers);
      res.write(body.subarray(0, half));
      const timer = setTimeout(() => {
        counters.served++;
        res.end(body.subarray(half));
      }, rates.stallMs);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    counters.served++;
    res.writeHead(200, headers);
    res.end(body);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (batchId) => `http://127.0.0.1:${port}/batch/${batchId}`,
    setBatch(batchId, records) {
      batches.set(batchId, Buffer.from(JSON.stringify(records)));
    },
    setRates(next) {
      rates = { ...next };
    },
    counters,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
