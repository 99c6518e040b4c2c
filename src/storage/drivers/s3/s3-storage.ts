/**
 * S3 and S3-compatible object storage through AWS SDK v3. The SDK is imported on first use, so
 * users of local storage never load it. Large and streamed bodies go through lib-storage's
 * multipart Upload; listings follow every continuation token and throw rather than stop early.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { AlreadyExistsError, ConfigurationError, NotFoundError, StorageError } from '../../../errors.ts';
import { maskSecretsInString } from '../../../secrets/mask.ts';
import { bodyBytes, bodyStream, normalizeMetadata } from '../../body.ts';
import { contentTypeFor } from '../../content-types.ts';
import { assertValidKey, assertValidPrefix } from '../../keys.ts';
import { scopeStorage } from '../../scoped.ts';
import type { ListEntry, ListOptions, ObjectInfo, PutOptions, PutResult, Storage } from '../../types.ts';
import { mapS3Error } from './errors.ts';
import { installFastListing } from './fast-list.ts';
import {
  cleanEtag,
  type ListPageRequest,
  listObjectPages,
  pageRows,
  type SendListPage,
} from './list-pages.ts';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket that this storage is rooted at. @default '' */
  prefix?: string;
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  region?: string;
  /** Custom endpoint (MinIO, s3rver, …). @default AWS_ENDPOINT_URL_S3 ?? AWS_ENDPOINT_URL */
  endpoint?: string;
  /** Path-style addressing. @default true when an endpoint is set, else false */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request, with the SDK's exponential backoff on throttling and 5xx. @default 5 */
  maxAttempts?: number;
  /** Bodies at least this large are sent as multipart uploads. @default 16 MiB */
  multipartThreshold?: number;
  /** @default 8 MiB */
  partSize?: number;
  /** Parts uploaded at once per multipart upload. @default 4 */
  queueSize?: number;
}

const MiB = 1024 * 1024;
type SdkModule = typeof import('@aws-sdk/client-s3');
const require = createRequire(import.meta.url);

/** One client per endpoint/region/credentials within a process, as the SDK recommends. */
const clients = new Map<string, Promise<{ sdk: SdkModule; client: S3Client }>>();

/**
 * Keys in the environment, as the SDK's default chain would read them first (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) unless AWS_PROFILE names a profile, which the chain
 * prefers. Handing them over directly spares the chain, whose providers load lazily on the
 * first request of every process; without them, the chain runs (profiles, SSO, instance roles).
 */
function credentialsFromEnv(): S3StorageOptions['credentials'] {
  // The chain prefers a named profile to keys in the environment; so do we.
  if (process.env.AWS_PROFILE) return undefined;
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The custom endpoint: the option, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (empty = unset). */
function endpointOf(options: S3StorageOptions): string | undefined {
  return options.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined);
}

function clientFor(options: S3StorageOptions): Promise<{ sdk: SdkModule; client: S3Client }> {
  const endpoint = endpointOf(options);
  const region = options.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1');
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    const from =
      options.endpoint !== undefined
        ? 'the endpoint option'
        : process.env.AWS_ENDPOINT_URL_S3
          ? 'AWS_ENDPOINT_URL_S3'
          : 'AWS_ENDPOINT_URL';
    throw new ConfigurationError(
      `S3 endpoint ${JSON.stringify(maskSecretsInString(endpoint))} (from ${from}) is not a URL; expected e.g. http://127.0.0.1:9000`,
      {
        context: { source: from },
      },
    );
  }
  const forcePathStyle = options.forcePathStyle ?? endpoint !== undefined;
  const credentials = options.credentials ?? credentialsFromEnv();
  const cacheKey = JSON.stringify([
    endpoint,
    region,
    forcePathStyle,
    credentials?.accessKeyId,
    // Two storages with the same key id but other secrets must not share a client; the secret
    // itself is only kept hashed.
    credentials
      ? createHash('sha256')
          .update(`${credentials.secretAccessKey}\0${credentials.sessionToken ?? ''}`)
          .digest('hex')
      : undefined,
    options.maxAttempts,
  ]);
  let entry = clients.get(cacheKey);
  if (!entry) {
    entry = (async () => {
      // require(), not import(): the SDK is CommonJS, and import() first scans its 1 MB entry
      // file for export names, ~10 % of the SDK's load time.
      const sdk = require('@aws-sdk/client-s3') as SdkModule;
      const client = new sdk.S3Client({
        region,
        forcePathStyle,
        maxAttempts: options.maxAttempts ?? 5,
        retryMode: 'standard',
        ...(endpoint ? { endpoint } : {}),
        ...(credentials ? { credentials } : {}),
        // Custom endpoints often store aws-chunked trailing checksums literally (ENVIRONMENT.md):
        // only send checksums where the API requires them.
        ...(endpoint
          ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
          : {}),
      });
      // The SDK's logger middleware runs a schema-driven copy of every response (1,000 objects
      // per listing page) to hand to a logger that, by default, drops it: ~10 % of a no-op sync's
      // CPU. sluice logs its own operations, so the middleware goes.
      client.middlewareStack.remove('loggerMiddleware');
      // Listing pages are read by a fast reader of their plain XML shape (list-xml.ts).
      installFastListing(client);
      return { sdk, client };
    })();
    clients.set(cacheKey, entry);
  }
  return entry;
}

export function createS3Storage(options: S3StorageOptions): Storage {
  const { bucket } = options;
  const base = options.prefix ? options.prefix.replace(/^\/+/, '').replace(/\/?$/, '/') : '';
  if (base) assertValidPrefix(base);
  const threshold = options.multipartThreshold ?? 16 * MiB;
  const full = (key: string) => base + assertValidKey(key);
  const strip = (key: string) => key.slice(base.length);
  const sdk = () => clientFor(options);
  const endpoint = endpointOf(options);
  // `key` is the full key (base included).
  const fail = (error: unknown, key: string, action: string) =>
    mapS3Error(error, bucket, key, action, endpoint);

  async function run<T>(
    key: string,
    action: string,
    fn: (m: SdkModule, c: S3Client) => Promise<T>,
  ): Promise<T> {
    const { sdk: m, client } = await sdk();
    try {
      return await fn(m, client);
    } catch (error) {
      throw fail(error, key, action);
    }
  }

  const storage: Storage = {
    kind: 's3',
    url: `s3://${bucket}/${base}`,
    capabilities: { atomicCreate: false, localFiles: false },

    async get(key, opts = {}) {
      const stream = await storage.getStream(key, opts);
      const parts: Buffer[] = [];
      try {
        for await (const chunk of stream) parts.push(chunk as Buffer);
      } catch (error) {
        throw fail(error, full(key), 'read');
      }
      return Buffer.concat(parts);
    },

    async getStream(key, opts = {}) {
      const k = full(key);
      return run(k, 'read', async (m, c) => {
        const range = opts.range ? `bytes=${opts.range.start}-${opts.range.end ?? ''}` : undefined;
        const out = await c.send(
          new m.GetObjectCommand({ Bucket: bucket, Key: k, ...(range ? { Range: range } : {}) }),
          opts.signal ? { abortSignal: opts.signal } : {},
        );
        const body = out.Body as Readable;
        // The response's own length and ETag, for readers that check they got the object they
        // listed (storage/verified-read.ts reads this well-known symbol).
        Object.defineProperty(body, Symbol.for('sluice.storage.responseInfo'), {
          value: { size: out.ContentLength, etag: out.ETag === undefined ? undefined : cleanEtag(out.ETag) },
        });
        return body;
      });
    },

    async put(key, body, opts: PutOptions = {}): Promise<PutResult> {
      const k = full(key);
      const metadata = normalizeMetadata(opts.metadata);
      return run(k, 'write', async (m, c) => {
        if (opts.ifNotExists) {
          // S3-compatible servers do not all honour If-None-Match; check first (not atomic).
          const exists = await storage.exists(key);
          if (exists) {
            throw new AlreadyExistsError(`Object already exists at s3://${bucket}/${k}`, {
              context: { key: k },
            });
          }
        }
        const common = {
          Bucket: bucket,
          Key: k,
          Metadata: metadata,
          ContentType: opts.contentType ?? contentTypeFor(k),
        };
        const bytes = bodyBytes(body);
        if (bytes && bytes.length < threshold) {
          const out = await c.send(
            new m.PutObjectCommand({ ...common, Body: bytes }),
            opts.signal ? { abortSignal: opts.signal } : {},
          );
          opts.onProgress?.(bytes.length);
          return { key, size: bytes.length, etag: cleanEtag(out.ETag) };
        }
        const { Upload } = await import('@aws-sdk/lib-storage');
        const upload = new Upload({
          client: c,
          params: { ...common, Body: bytes ?? bodyStream(body) },
          partSize: options.partSize ?? 8 * MiB,
          queueSize: options.queueSize ?? 4,
          // Aborted below: lib-storage's own abort throws the abort's failure instead of the upload's.
          leavePartsOnError: true,
          ...(opts.signal ? { abortController: abortControllerFor(opts.signal) } : {}),
        });
        let size = 0;
        upload.on('httpUploadProgress', (p) => {
          if (p.loaded !== undefined) {
            size = Math.max(size, p.loaded);
            opts.onProgress?.(size);
          }
        });
        const out = await upload.done().catch(async (error: unknown) => {
          // Best effort (some S3-compatible servers cannot abort): the upload's own failure is the news.
          if (upload.uploadId) {
            const abort = new m.AbortMultipartUploadCommand({
              Bucket: bucket,
              Key: k,
              UploadId: upload.uploadId,
            });
            await c.send(abort).catch(() => undefined);
          }
          throw error;
        });
        if (bytes) size = bytes.length;
        return { key, size, etag: cleanEtag(out.ETag) };
      });
    },

    async stat(key): Promise<ObjectInfo> {
      const k = full(key);
      return run(k, 'stat', async (m, c) => {
        const out = await c.send(new m.HeadObjectCommand({ Bucket: bucket, Key: k }));
        const info: ObjectInfo = {
          key,
          size: Number(out.ContentLength ?? 0),
          mtime: out.LastModified ?? new Date(0),
          etag: cleanEtag(out.ETag),
          metadata: normalizeMetadata(out.Metadata),
        };
        if (out.ContentType) info.contentType = out.ContentType;
        return info;
      });
    },

    async exists(key) {
      try {
        await storage.stat(key);
        return true;
      } catch (error) {
        if (error instanceof NotFoundError) return false;
        throw error;
      }
    },

    async *list(opts: ListOptions = {}): AsyncIterable<ListEntry> {
      const prefix = base + assertValidPrefix(opts.prefix ?? '');
      const recursive = opts.recursive ?? true;
      const { sdk: m, client } = await sdk();
      const send: SendListPage = (input, abortSignal) =>
        client.send(new m.ListObjectsV2Command(input), { abortSignal });
      const request: ListPageRequest = {
        Bucket: bucket,
        Prefix: prefix,
        // Keys XML cannot carry (control characters) still list; decoded in list-pages.ts.
        EncodingType: 'url',
        ...(recursive ? {} : { Delimiter: '/' }),
        ...(opts.startAfter !== undefined ? { StartAfter: base + opts.startAfter } : {}),
      };
      const hint = opts.expectedKeys ? { keys: opts.expectedKeys, base } : undefined;
      const pages = listObjectPages(send, request, hint, opts.signal);
      try {
        while (true) {
          if (opts.signal?.aborted) throw opts.signal.reason;
          let next: IteratorResult<ListObjectsV2CommandOutput>;
          try {
            next = await pages.next();
          } catch (error) {
            if (opts.signal?.aborted) throw opts.signal.reason;
            throw fail(error, prefix, 'list');
          }
          if (next.done) return;
          yield* pageRows(next.value, strip, recursive, opts.prefix);
        }
      } finally {
        // A reader that stops early ends the pager too, so no request keeps running.
        await pages.return(undefined);
      }
    },

    async delete(key) {
      const k = full(key);
      await run(k, 'delete', (m, c) => c.send(new m.DeleteObjectCommand({ Bucket: bucket, Key: k })));
    },

    async deleteMany(keys) {
      const all = keys.map(full);
      for (let i = 0; i < all.length; i += 1000) {
        const batch = all.slice(i, i + 1000);
        const out = await run(batch[0] ?? '', 'delete', (m, c) =>
          c.send(
            new m.DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
          ),
        );
        const failed = out.Errors ?? [];
        if (failed.length > 0) {
          throw new StorageError(
            `Could not delete ${failed.length} of ${batch.length} objects, first: s3://${bucket}/${failed[0]?.Key} (${failed[0]?.Code})`,
            {
              context: { bucket, keys: failed.map((f) => f.Key) },
            },
          );
        }
      }
    },

    async copy(fromKey, toKey, opts = {}) {
      const from = full(fromKey);
      const to = full(toKey);
      await run(from, 'copy', async (m, c) => {
        let replace = {};
        if (opts.metadata) {
          const info = await storage.stat(fromKey);
          replace = {
            MetadataDirective: 'REPLACE' as const,
            Metadata: normalizeMetadata(opts.metadata),
            ContentType: info.contentType ?? contentTypeFor(toKey),
          };
        }
        const source = `${bucket}/${from}`.split('/').map(encodeURIComponent).join('/');
        return c.send(new m.CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: source, ...replace }));
      });
    },

    async move(fromKey, toKey) {
      if (fromKey === toKey) return;
      await storage.copy(fromKey, toKey);
      await storage.delete(fromKey);
    },

    scope: (prefix) => scopeStorage(storage, prefix),
    async close() {},
  };
  return storage;
}

function abortControllerFor(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller;
}

/** Destroys cached clients (tests, and processes that are about to exit). */
export async function closeS3Clients(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  for (const entry of all) (await entry).client.destroy();
}
