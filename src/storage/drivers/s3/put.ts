/**
 * The S3 driver's put: one PutObject for a small body in memory; lib-storage's multipart Upload
 * (imported on first use) for large and streamed bodies, its parts aborted when it fails.
 *
 * Conditional puts send `If-None-Match: *` (ifNotExists) or `If-Match` (ifMatch) with a single
 * PutObject, and check first with a HEAD, because not every server honours the headers (s3rver
 * ignores them): a server that does answers 412 (or 409 during a concurrent conditional write),
 * which becomes AlreadyExistsError / PreconditionFailedError; one that does not at least refuses
 * what the HEAD saw. The HEAD of an ifMatch is skipped once the probe (conditional-probe.ts) has
 * found the server honours them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../../../errors.ts';
import { bodyBytes, bodyStream, collectBody, normalizeMetadata } from '../../body.ts';
import { assertOneCondition, preconditionFailed } from '../../conditions.ts';
import { contentTypeFor } from '../../content-types.ts';
import type { PutBody, PutOptions, PutResult, Storage } from '../../types.ts';
import type { SdkModule } from './client.ts';
import { probedConditionalWrites } from './conditional-probe.ts';
import { answeredMissing, quoteEtag, refusedByCondition } from './conditions.ts';
import { fullKey, runS3, type S3Context, where } from './context.ts';
import { cleanEtag } from './list-pages.ts';
import { MiB } from './options.ts';

/** The fields every put request sends, whichever path it takes. */
interface PutParams {
  Bucket: string;
  Key: string;
  Metadata: Record<string, string>;
  ContentType: string;
}

/** `self.exists` and `self.stat` answer the checks of a conditional put. */
export async function putObject(
  ctx: S3Context,
  self: Pick<Storage, 'exists' | 'stat'>,
  key: string,
  body: PutBody,
  opts: PutOptions = {},
): Promise<PutResult> {
  const k = fullKey(ctx, key);
  assertOneCondition(key, opts);
  const metadata = normalizeMetadata(opts.metadata);
  return runS3(ctx, k, 'write', async (sdk, client) => {
    if (opts.ifNotExists) await refuseExisting(ctx, self, key);
    if (opts.ifMatch !== undefined && probedConditionalWrites(ctx) !== true)
      await refuseChanged(ctx, self, key, opts.ifMatch);
    const params: PutParams = {
      Bucket: ctx.bucket,
      Key: k,
      Metadata: metadata,
      ContentType: opts.contentType ?? contentTypeFor(k),
    };
    // A conditional write must be one request: lib-storage's multipart upload cannot carry it.
    const bytes = bodyBytes(body) ?? (opts.ifMatch !== undefined ? await collectBody(body) : undefined);
    if (bytes && bytes.length < ctx.threshold) {
      const out = await client
        .send(
          new sdk.PutObjectCommand({ ...params, ...conditionHeaders(opts), Body: bytes }),
          opts.signal ? { abortSignal: opts.signal } : {},
        )
        .catch((error: unknown) => {
          throw conditionFailure(ctx, key, opts, error) ?? error;
        });
      opts.onProgress?.(bytes.length);
      return { key, size: bytes.length, etag: cleanEtag(out.ETag) };
    }
    if (opts.ifMatch !== undefined)
      throw new ValidationError(
        `Put of ${where(ctx, key)} with ifMatch: the body (${bytes?.length ?? 0} bytes) must be smaller than multipartThreshold (${ctx.threshold}), a conditional write is one request`,
        { context: { key: k } },
      );
    return uploadMultipart(ctx, sdk, client, { params, key, body, bytes }, opts);
  });
}

/** The request headers of a conditional put. An ETag is sent quoted, as HTTP entity tags are. */
function conditionHeaders(opts: PutOptions): { IfNoneMatch?: string; IfMatch?: string } {
  if (opts.ifNotExists) return { IfNoneMatch: '*' };
  if (opts.ifMatch === undefined) return {};
  return { IfMatch: quoteEtag(opts.ifMatch) };
}

/**
 * The sluice error for a refused condition (412 Precondition Failed; 409 ConditionalRequestConflict
 * while another conditional write of the key is under way), or undefined for any other failure.
 */
function conditionFailure(ctx: S3Context, key: string, opts: PutOptions, error: unknown) {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const k = fullKey(ctx, key);
  // If-Match on a key that is gone: AWS S3 answers 404 NoSuchKey.
  if (opts.ifMatch !== undefined && answeredMissing(error))
    return preconditionFailed(where(ctx, key), k, opts.ifMatch, null, error);
  if (!refusedByCondition(error)) return undefined;
  if (opts.ifNotExists)
    return new AlreadyExistsError(
      `Object already exists at ${where(ctx, key)} (the server refused If-None-Match: *)`,
      {
        cause: error,
        context: { key: k, status },
      },
    );
  return preconditionFailed(where(ctx, key), k, opts.ifMatch ?? '', undefined, error);
}

/** Throws AlreadyExistsError when `key` exists. */
async function refuseExisting(ctx: S3Context, self: Pick<Storage, 'exists'>, key: string): Promise<void> {
  // Not atomic, but it refuses on servers that ignore If-None-Match.
  const exists = await self.exists(key);
  if (exists) {
    const k = fullKey(ctx, key);
    throw new AlreadyExistsError(`Object already exists at s3://${ctx.bucket}/${k}`, {
      context: { key: k },
    });
  }
}

/** Throws PreconditionFailedError when `key` is gone or at another ETag than `expected`. */
async function refuseChanged(
  ctx: S3Context,
  self: Pick<Storage, 'stat'>,
  key: string,
  expected: string,
): Promise<void> {
  const actual = await self.stat(key).then(
    (info) => info.etag,
    (error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    },
  );
  if (actual !== cleanEtag(expected))
    throw preconditionFailed(where(ctx, key), fullKey(ctx, key), expected, actual);
}

/** A put on its way to a multipart upload. */
interface Outgoing {
  params: PutParams;
  /** The caller's key, as the result names it. */
  key: string;
  body: PutBody;
  /** The body, when it is one in memory: its length is the size put. */
  bytes: Buffer | undefined;
}

async function uploadMultipart(
  ctx: S3Context,
  sdk: SdkModule,
  client: S3Client,
  { params, key, body, bytes }: Outgoing,
  opts: PutOptions,
): Promise<PutResult> {
  const { Upload } = await import('@aws-sdk/lib-storage');
  const upload = new Upload({
    client,
    params: { ...params, Body: bytes ?? bodyStream(body) },
    partSize: ctx.options.partSize ?? 8 * MiB,
    queueSize: ctx.options.queueSize ?? 4,
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
    if (upload.uploadId) await abortQuietly(sdk, client, params, upload.uploadId);
    throw error;
  });
  if (bytes) size = bytes.length;
  return { key, size, etag: cleanEtag(out.ETag) };
}

/** Best effort (some S3-compatible servers cannot abort): the upload's own failure is the news. */
async function abortQuietly(sdk: SdkModule, client: S3Client, params: PutParams, uploadId: string) {
  const abort = new sdk.AbortMultipartUploadCommand({
    Bucket: params.Bucket,
    Key: params.Key,
    UploadId: uploadId,
  });
  await client.send(abort).catch(() => undefined);
}

function abortControllerFor(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller;
}
