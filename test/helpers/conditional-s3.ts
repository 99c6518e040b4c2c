/**
 * An HTTP proxy in front of s3rver that honours S3's conditional requests as real AWS S3 does.
 * s3rver ignores them all (ENVIRONMENT.md; checked: a GetObject, CopyObject, DeleteObject and
 * DeleteObjects with a wrong ETag all succeed there), and no server that honours them can run on
 * this machine, so this stands in for one to test sluice's conditional paths over real HTTP with
 * the real AWS SDK:
 *
 * - PutObject `If-None-Match: *` (create only if absent) and `If-Match: "<etag>"` (replace only
 *   that version; a missing key is 412);
 * - GetObject `If-Match` (412 when the object is at another version);
 * - CopyObject `x-amz-copy-source-if-match` (412 when the source is at another version);
 * - DeleteObject `If-Match` (412 at another version; 404 NoSuchKey when absent, as AWS answers);
 * - DeleteObjects with an `ETag` element per object (a per-key PreconditionFailed error).
 *
 * A conditional request takes its key's mutex, HEADs the key upstream, and either answers with
 * S3's XML error body or forwards the request and holds the mutex until the upstream answer is
 * complete — so of two racing conditional requests on one key exactly one wins, as on S3. A
 * DeleteObjects with ETags is carried out by the proxy itself, key by key under each key's mutex
 * (its body cannot be changed under the client's signature). Everything else is forwarded
 * untouched (headers too: the client signed for the proxy's address, which is what s3rver sees).
 *
 * `beforeConditional(op, path)` runs before each conditional request is decided: a test acts
 * there between a client's read and its conditional write, copy or delete (say, publishes
 * another version first). `beforeConditionalPut` is the same for puts only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isGetObject, isObjectUpload } from './fault-proxy.ts';
import { TEST_CREDENTIALS } from './s3.ts';

export interface ConditionalPut {
  /** `bucket/key` as the request named it. */
  path: string;
  condition: 'If-Match' | 'If-None-Match';
  status: number;
}

export type ConditionalOp = 'put' | 'get' | 'copy' | 'delete';

export interface ConditionalDecision extends ConditionalPut {
  op: ConditionalOp;
}

export interface ConditionalS3 {
  endpoint: string;
  /** Every conditional PutObject decided so far, in order (200: forwarded upstream). */
  readonly puts: ConditionalPut[];
  /**
   * Every conditional request decided so far, in order: 200 forwarded (or, for a key of a
   * DeleteObjects, deleted), 412 refused, 404 absent (a conditional delete).
   */
  readonly decisions: ConditionalDecision[];
  /** Runs before each conditional put is decided, with its `bucket/key` (the test filters). */
  beforeConditionalPut: ((path: string) => Promise<void>) | undefined;
  /** Runs before each conditional request (every op) is decided, with its `bucket/key`. */
  beforeConditional: ((op: ConditionalOp, path: string) => Promise<void>) | undefined;
  close(): Promise<void>;
}

const errorXml = (code: string, message: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>conditional-s3</RequestId></Error>`;
const PRECONDITION_MESSAGE = 'At least one of the pre-conditions you specified did not hold';

const unquote = (etag: string) => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
const tagsOf = (header: string) => header.split(',').map((t) => unquote(t.trim()));
const xmlText = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** What the condition of `op` says about an object now at `now` (null: absent). */
function verdict(
  op: ConditionalOp,
  condition: ConditionalPut['condition'],
  tags: string,
  now: string | null,
) {
  if (condition === 'If-None-Match') return now === null ? 200 : 412;
  const matches = now !== null && (tags.trim() === '*' || tagsOf(tags).includes(now));
  if (matches) return 200;
  if (now !== null || op === 'put') return 412;
  // Absent: a read or copy gets the server's own 404; a conditional delete is answered 404 here.
  return op === 'delete' ? 404 : 200;
}

export interface ConditionalS3Options {
  /**
   * false: ignore every condition, as s3rver and some S3-compatible servers do, yet still run the
   * hooks before each conditional request is forwarded (and record it as 200): to test what a
   * client does on such an endpoint with a write injected at the exact moment. @default true
   */
  honour?: boolean;
}

export async function startConditionalS3(
  target: string,
  options: ConditionalS3Options = {},
): Promise<ConditionalS3> {
  const honour = options.honour ?? true;
  const upstream = new URL(target);
  const client = new S3Client({
    endpoint: target,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
  });
  /** The decision in flight per object path: the next conditional request on it waits for it. */
  const locks = new Map<string, Promise<void>>();
  const state: ConditionalS3 = {
    endpoint: '',
    puts: [],
    decisions: [],
    beforeConditionalPut: undefined,
    beforeConditional: undefined,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.destroy();
    },
  };

  const split = (objectPath: string) => {
    const [bucket = '', ...rest] = objectPath.split('/');
    return { Bucket: bucket, Key: rest.join('/') };
  };

  /** The object's ETag upstream, or null when it has none. */
  async function currentEtag(objectPath: string): Promise<string | null> {
    try {
      const out = await client.send(new HeadObjectCommand(split(objectPath)));
      return unquote(out.ETag ?? '');
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
        return null;
      throw error;
    }
  }

  /** Runs `fn` holding the mutex of `objectPath`. */
  async function locked<T>(objectPath: string, fn: () => Promise<T>): Promise<T> {
    const before = locks.get(objectPath) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = before.then(() => mine);
    locks.set(objectPath, chained);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(objectPath) === chained) locks.delete(objectPath);
    }
  }

  function record(op: ConditionalOp, path: string, condition: ConditionalPut['condition'], status: number) {
    state.decisions.push({ op, path, condition, status });
    if (op === 'put') state.puts.push({ path, condition, status });
  }

  async function before(op: ConditionalOp, objectPath: string) {
    if (op === 'put') await state.beforeConditionalPut?.(objectPath);
    await state.beforeConditional?.(op, objectPath);
  }

  /** Forwards `req` (or its body, already read) upstream; resolves once the answer reached the client. */
  function forward(req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): Promise<void> {
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
      if (body) out.end(body);
      else req.pipe(out);
    });
  }

  /** One conditional request on `objectPath`: refused here, or forwarded under the key's mutex. */
  async function decide(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    op: ConditionalOp,
    objectPath: string,
    condition: ConditionalPut['condition'],
    tags: string,
  ) {
    await before(op, objectPath);
    await locked(objectPath, async () => {
      try {
        const status = honour ? verdict(op, condition, tags, await currentEtag(objectPath)) : 200;
        record(op, objectPath, condition, status);
        if (status === 200) return await forward(req, res);
        req.resume();
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(
          status === 404
            ? errorXml(
                'NoSuchKey',
                'The specified key does not exist.',
                `<Key>${xmlEscape(split(objectPath).Key)}</Key>`,
              )
            : errorXml('PreconditionFailed', PRECONDITION_MESSAGE, `<Condition>${condition}</Condition>`),
        );
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      }
    });
  }

  /** DeleteObjects with per-object ETags, carried out here key by key; without ETags, forwarded. */
  async function deleteObjects(req: http.IncomingMessage, res: http.ServerResponse, bucket: string) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const text = body.toString('utf8');
    if (!text.includes('<ETag>')) return forward(req, res, body);
    if (!honour) {
      for (const [, key = ''] of text.matchAll(/<Key>([\s\S]*?)<\/Key>/g)) {
        await before('delete', `${bucket}/${xmlText(key)}`);
        record('delete', `${bucket}/${xmlText(key)}`, 'If-Match', 200);
      }
      return forward(req, res, body);
    }
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/.test(text);
    let deleted = '';
    let errors = '';
    try {
      for (const [, inner = ''] of text.matchAll(/<Object>([\s\S]*?)<\/Object>/g)) {
        const key = xmlText(/<Key>([\s\S]*?)<\/Key>/.exec(inner)?.[1] ?? '');
        const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(inner)?.[1];
        const objectPath = `${bucket}/${key}`;
        const refused = await (async () => {
          if (etag === undefined) {
            await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
            return false;
          }
          await before('delete', objectPath);
          return locked(objectPath, async () => {
            const now = await currentEtag(objectPath);
            const status = now === null ? 200 : verdict('delete', 'If-Match', xmlText(etag), now);
            record('delete', objectPath, 'If-Match', status);
            if (status === 412) return true;
            if (now !== null) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
            return false;
          });
        })();
        if (refused)
          errors += `<Error><Key>${xmlEscape(key)}</Key><Code>PreconditionFailed</Code><Message>${PRECONDITION_MESSAGE}</Message></Error>`;
        else if (!quiet) deleted += `<Deleted><Key>${xmlEscape(key)}</Key></Deleted>`;
      }
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${deleted}${errors}</DeleteResult>`,
    );
  }

  const server = http.createServer((req, res) => {
    const [pathname = '', query = ''] = (req.url ?? '').split('?', 2);
    const params = new URLSearchParams(query);
    const objectPath = decodeURIComponent(pathname.replace(/^\//, ''));
    const isObject = objectPath.includes('/') && !objectPath.endsWith('/');
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const copySource = req.headers['x-amz-copy-source'];
    const copyIfMatch = req.headers['x-amz-copy-source-if-match'];
    if (req.method === 'POST' && params.has('delete') && !isObject) {
      void deleteObjects(req, res, objectPath.replace(/\/$/, ''));
    } else if (
      (ifMatch !== undefined || ifNoneMatch !== undefined) &&
      isObjectUpload(req.method, req.url, req.headers) &&
      !params.has('uploadId')
    ) {
      const condition = ifMatch !== undefined ? 'If-Match' : 'If-None-Match';
      void decide(req, res, 'put', objectPath, condition, String(ifMatch ?? ifNoneMatch));
    } else if (req.method === 'PUT' && copySource !== undefined && copyIfMatch !== undefined) {
      const source = decodeURIComponent(String(copySource).split('?', 1)[0] ?? '').replace(/^\//, '');
      void decide(req, res, 'copy', source, 'If-Match', String(copyIfMatch));
    } else if (ifMatch !== undefined && isGetObject(req.method, req.url)) {
      void decide(req, res, 'get', objectPath, 'If-Match', String(ifMatch));
    } else if (ifMatch !== undefined && req.method === 'DELETE' && isObject) {
      void decide(req, res, 'delete', objectPath, 'If-Match', String(ifMatch));
    } else {
      void forward(req, res);
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
