/**
 * An HTTP proxy in front of s3rver that injects the faults real networks and real S3 produce:
 * a connection reset after half of an object's body, a body that ends cleanly but short
 * (chunked, no Content-Length), a 503 SlowDown, and a stall before the second half of a body.
 * Choices come from a seeded generator, so a failing run can be replayed with its seed.
 *
 * Requests are forwarded with their headers untouched (the SigV4 signature covers Host, and the
 * client signed for the proxy's address, which is what s3rver sees too).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultRates {
  /** Share of GetObject responses cut by a socket reset after half the body. @default 0 */
  reset?: number;
  /** Share of GetObject responses sent chunked and ended cleanly after half the body. @default 0 */
  short?: number;
  /** Share of GetObject requests answered 503 SlowDown. @default 0 */
  slowDown?: number;
  /** Share of other requests (list, head, put, copy, delete) answered 503 SlowDown. @default 0 */
  slowDownOther?: number;
  /** Share of GetObject responses that stall `stallMs` before the second half of the body. @default 0 */
  stall?: number;
  /** @default 2000 */
  stallMs?: number;
}

export interface FaultCounters {
  requests: number;
  gets: number;
  resets: number;
  shorts: number;
  slowDowns: number;
  stalls: number;
}

export interface FaultProxy {
  endpoint: string;
  readonly counters: FaultCounters;
  /** Replaces the fault rates (say, none for a clean final poll). */
  setRates(rates: FaultRates): void;
  close(): Promise<void>;
}

/** mulberry32: small, fast and good enough to spread faults evenly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * GetObject in path style: GET /bucket/key…, where the SDK adds `?x-id=GetObject`. A listing is
 * GET /bucket?list-type=2…, so a query alone never makes a request a listing or an object read.
 */
export function isGetObject(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'GET' || !url) return false;
  const [pathname = '', query = ''] = url.split('?', 2);
  const segments = pathname.split('/').filter(Boolean);
  if (segments.length < 2) return false;
  const params = new URLSearchParams(query);
  return !params.has('list-type') && !params.has('uploads') && !params.has('uploadId');
}

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>`;

export async function startFaultProxy(target: string, seed = Date.now() >>> 0): Promise<FaultProxy> {
  const upstream = new URL(target);
  const random = seeded(seed);
  let rates: FaultRates = {};
  const counters: FaultCounters = { requests: 0, gets: 0, resets: 0, shorts: 0, slowDowns: 0, stalls: 0 };
  const roll = (rate: number | undefined) => (rate ?? 0) > 0 && random() < (rate ?? 0);

  const server = http.createServer((req, res) => {
    counters.requests++;
    const get = isGetObject(req.method, req.url);
    if (get) counters.gets++;
    if (roll(get ? rates.slowDown : rates.slowDownOther)) {
      counters.slowDowns++;
      // The request body (a PUT's) is read and dropped, as a server would.
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '0' });
      res.end(SLOW_DOWN);
      return;
    }
    const fault = get
      ? roll(rates.reset)
        ? 'reset'
        : roll(rates.short)
          ? 'short'
          : roll(rates.stall)
            ? 'stall'
            : undefined
      : undefined;
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        const status = up.statusCode ?? 502;
        if (!fault || status !== 200) {
          res.writeHead(status, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          const half = Math.floor(body.length / 2);
          if (fault === 'reset') {
            counters.resets++;
            res.writeHead(status, up.headers);
            // The head and half the bytes reach the client; then the connection breaks.
            res.write(body.subarray(0, half), () => res.socket?.destroy());
          } else if (fault === 'short') {
            counters.shorts++;
            const { 'content-length': _, ...headers } = up.headers;
            res.writeHead(status, { ...headers, 'transfer-encoding': 'chunked' });
            res.end(body.subarray(0, half));
          } else {
            counters.stalls++;
            res.writeHead(status, up.headers);
            res.write(body.subarray(0, half));
            const timer = setTimeout(() => res.end(body.subarray(half)), rates.stallMs ?? 2000);
            res.on('close', () => clearTimeout(timer));
          }
        });
        up.on('error', (e) => res.destroy(e));
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counters,
    setRates(next) {
      rates = { ...next };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
