/**
 * An HTTP proxy in front of s3rver that honours conditional writes on PutObject, as real AWS S3
 * does: `If-None-Match: *` (create only if absent) and `If-Match: "<etag>"` (replace only that
 * version). s3rver ignores both headers and overwrites (ENVIRONMENT.md), and no server that
 * honours them can run on this machine, so this stands in for one to test sluice's
 * compare-and-swap paths over real HTTP with the real AWS SDK.
 *
 * A conditional PutObject takes the key's mutex, HEADs the key upstream, and either answers
 * 412 PreconditionFailed with S3's XML error body or forwards the request and holds the mutex
 * until the upstream answer is complete — so of two racing conditional puts of one key exactly
 * one wins, as on S3. Everything else is forwarded untouched (headers too: the client signed for
 * the proxy's address, which is what s3rver sees). `beforeConditionalPut` lets a test act between
 * a client's read and its conditional write (say, publish another version first).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isObjectUpload } from './fault-proxy.ts';
import { TEST_CREDENTIALS } from './s3.ts';

export interface ConditionalPut {
  /** `bucket/key` as the request named it. */
  path: string;
  condition: 'If-Match' | 'If-None-Match';
  status: number;
}

export interface ConditionalS3 {
  endpoint: string;
  /** Every conditional PutObject decided so far, in order (200: forwarded upstream). */
  readonly puts: ConditionalPut[];
  /** Runs before each conditional put is decided, with its `bucket/key` (the test filters). */
  beforeConditionalPut: ((path: string) => Promise<void>) | undefined;
  close(): Promise<void>;
}

const PRECONDITION_FAILED = (condition: string) => `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>${condition}</Condition><RequestId>conditional-s3</RequestId></Error>`;

const unquote = (etag: string) => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

export async function startConditionalS3(target: string): Promise<ConditionalS3> {
  const upstream = new URL(target);
  const head = new S3Client({
    endpoint: target,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
  });
  /** The decision in flight per object path: the next conditional put of it waits for it. */
  const locks = new Map<string, Promise<void>>();
  const state: ConditionalS3 = {
    endpoint: '',
    puts: [],
    beforeConditionalPut: undefined,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      head.destroy();
    },
  };

  /** The object's ETag upstream, or null when it has none. */
  async function currentEtag(objectPath: string): Promise<string | null> {
    const [bucket = '', ...rest] = objectPath.split('/');
    try {
      const out = await head.send(new HeadObjectCommand({ Bucket: bucket, Key: rest.join('/') }));
      return unquote(out.ETag ?? '');
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
        return null;
      throw error;
    }
  }

  /** Forwards `req` upstream and resolves once its answer has reached the client. */
  function forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      const out = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('end', resolve);
          up.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      out.on('error', () => {
        res.destroy();
        resolve();
      });
      res.on('close', () => {
        if (!res.writableFinished) out.destroy();
        resolve();
      });
      req.pipe(out);
    });
  }

  async function decide(req: http.IncomingMessage, res: http.ServerResponse, objectPath: string) {
    const ifMatch = req.headers['if-match'];
    const condition = ifMatch !== undefined ? 'If-Match' : 'If-None-Match';
    await state.beforeConditionalPut?.(objectPath);
    const before = locks.get(objectPath) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = before.then(() => mine);
    locks.set(objectPath, chained);
    await before;
    try {
      const now = await currentEtag(objectPath);
      const holds =
        condition === 'If-Match'
          ? now !== null &&
            String(ifMatch)
              .split(',')
              .map((t) => unquote(t.trim()))
              .includes(now)
          : now === null;
      if (!holds) {
        req.resume();
        state.puts.push({ path: objectPath, condition, status: 412 });
        res.writeHead(412, { 'content-type': 'application/xml' });
        res.end(PRECONDITION_FAILED(condition));
        return;
      }
      state.puts.push({ path: objectPath, condition, status: 200 });
      await forward(req, res);
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    } finally {
      release();
      if (locks.get(objectPath) === chained) locks.delete(objectPath);
    }
  }

  const server = http.createServer((req, res) => {
    const [pathname = '', query = ''] = (req.url ?? '').split('?', 2);
    const conditional =
      (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined) &&
      isObjectUpload(req.method, req.url, req.headers) &&
      !new URLSearchParams(query).has('uploadId');
    if (!conditional) {
      void forward(req, res);
      return;
    }
    void decide(req, res, decodeURIComponent(pathname.replace(/^\//, '')));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
