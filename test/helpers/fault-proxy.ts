/**
 * An HTTP proxy in front of s3rver that injects the faults real networks and real S3 produce:
 * a connection reset after half of an object's body, a body that ends cleanly but short
 * (chunked, no Content-Length), a 503 SlowDown, a stall before the second half of a body, and a
 * connection reset after half of an upload's request body has arrived.
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
  /**
   * A GetObject response is reset (as `reset`) once this many have reached their clients whole
   * since the last reset, so a run is sure to see resets however its rolls fall. @default never
   */
  resetAtLeastEvery?: number;
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
  /**
   * Share of GetObject responses sent whole but without their ETag header, as s3rver answers a
   * read that races a write of the object. @default 0
   */
  noEtag?: number;
  /** Share of object uploads (PutObject, UploadPart) cut by a socket reset after half the request body. @default 0 */
  putReset?: number;
  /** Faults injected in all (of every kind) before the proxy forwards everything untouched. @default unlimited */
  maxFaults?: number;
  /** Only requests whose path (before the query) contains this string are faulted. @default every request */
  pathIncludes?: string;
}

export interface FaultCounters {
  requests: number;
  gets: number;
  resets: number;
  shorts: number;
  slowDowns: number;
  stalls: number;
  noEtags: number;
  /** Object uploads seen (PutObject and UploadPart requests). */
  puts: number;
  putResets: number;
}

export interface FaultProxy {
  endpoint: string;
  readonly counters: FaultCounters;
  /** Replaces the fault rates (say, none for a clean final poll) and starts a new `maxFaults` budget. */
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

/** PutObject or UploadPart in path style: PUT /bucket/key… that is not a CopyObject. */
export function isObjectUpload(
  method: string | undefined,
  url: string | undefined,
  headers: http.IncomingHttpHeaders,
): boolean {
  if (method !== 'PUT' || !url) return false;
  const segments = (url.split('?', 1)[0] ?? '').split('/').filter(Boolean);
  return segments.length >= 2 && headers['x-amz-copy-source'] === undefined;
}

/** Takes the request body until half of it (by Content-Length) has arrived, then resets the connection. */
function resetMidUpload(req: http.IncomingMessage): void {
  const length = Number(req.headers['content-length'] ?? 0);
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received * 2 >= length) req.socket.resetAndDestroy();
  });
  req.on('end', () => req.socket.resetAndDestroy());
}

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>`;

export async function startFaultProxy(target: string, seed = Date.now() >>> 0): Promise<FaultProxy> {
  const upstream = new URL(target);
  const random = seeded(seed);
  let rates: FaultRates = {};
  const counters: FaultCounters = {
    requests: 0,
    gets: 0,
    resets: 0,
    shorts: 0,
    slowDowns: 0,
    stalls: 0,
    noEtags: 0,
    puts: 0,
    putResets: 0,
  };
  // Faults chosen so far: counted when chosen, so a budget holds under concurrent requests.
  let chosen = 0;
  // GetObject responses that reached their clients whole since the last reset (resetAtLeastEvery).
  let wholeSinceReset = 0;
  const resetIsDue = () => {
    const due =
      rates.resetAtLeastEvery !== undefined &&
      wholeSinceReset >= rates.resetAtLeastEvery &&
      chosen < (rates.maxFaults ?? Number.POSITIVE_INFINITY);
    if (due) chosen++;
    return due;
  };
  const rollAny = (rate: number | undefined) => {
    const hit =
      (rate ?? 0) > 0 && chosen < (rates.maxFaults ?? Number.POSITIVE_INFINITY) && random() < (rate ?? 0);
    if (hit) chosen++;
    return hit;
  };

  const server = http.createServer((req, res) => {
    counters.requests++;
    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    const eligible = rates.pathIncludes === undefined || path.includes(rates.pathIncludes);
    const roll = (rate: number | undefined) => eligible && rollAny(rate);
    const get = isGetObject(req.method, req.url);
    if (get) counters.gets++;
    const upload = isObjectUpload(req.method, req.url, req.headers);
    if (upload) counters.puts++;
    if (roll(get ? rates.slowDown : rates.slowDownOther)) {
      counters.slowDowns++;
      // The request body (a PUT's) is read and dropped, as a server would.
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '0' });
      res.end(SLOW_DOWN);
      return;
    }
    if (upload && roll(rates.putReset)) {
      counters.putResets++;
      resetMidUpload(req);
      return;
    }
    const fault = get
      ? (eligible && resetIsDue()) || roll(rates.reset)
        ? 'reset'
        : roll(rates.short)
          ? 'short'
          : roll(rates.stall)
            ? 'stall'
            : roll(rates.noEtag)
              ? 'noEtag'
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
          if (get && eligible && status === 200) wholeSinceReset++;
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
            wholeSinceReset = 0;
            res.writeHead(status, up.headers);
            // The head and half the bytes reach the client; then the connection breaks.
            res.write(body.subarray(0, half), () => res.socket?.destroy());
          } else if (fault === 'noEtag') {
            counters.noEtags++;
            const { etag: _, ...headers } = up.headers;
            res.writeHead(status, headers);
            res.end(body);
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
    // A client that goes away mid-request (killed, reset) takes the upstream request with it, as
    // its closed TCP connection would reach a real server: s3rver must not be left waiting for a
    // body that never comes, or writing a response nobody reads.
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy();
    });
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
      chosen = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
