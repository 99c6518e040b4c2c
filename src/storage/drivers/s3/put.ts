/**
 * The S3 driver's put: one PutObject for a small body in memory; lib-storage's multipart Upload
 * (imported on first use) for large and streamed bodies, its parts aborted when it fails.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { AlreadyExistsError } from '../../../errors.ts';
import { bodyBytes, bodyStream, normalizeMetadata } from '../../body.ts';
import { contentTypeFor } from '../../content-types.ts';
import type { PutBody, PutOptions, PutResult, Storage } from '../../types.ts';
import type { SdkModule } from './client.ts';
import { fullKey, runS3, type S3Context } from './context.ts';
import { cleanEtag } from './list-pages.ts';
import { MiB } from './options.ts';

/** The fields every put request sends, whichever path it takes. */
interface PutParams {
  Bucket: string;
  Key: string;
  Metadata: Record<string, string>;
  ContentType: string;
}

/** `self.exists` answers a create-if-absent. */
export async function putObject(
  ctx: S3Context,
  self: Pick<Storage, 'exists'>,
  key: string,
  body: PutBody,
  opts: PutOptions = {},
): Promise<PutResult> {
  const k = fullKey(ctx, key);
  const metadata = normalizeMetadata(opts.metadata);
  return runS3(ctx, k, 'write', async (sdk, client) => {
    if (opts.ifNotExists) await refuseExisting(ctx, self, key);
    const params: PutParams = {
      Bucket: ctx.bucket,
      Key: k,
      Metadata: metadata,
      ContentType: opts.contentType ?? contentTypeFor(k),
    };
    const bytes = bodyBytes(body);
    if (bytes && bytes.length < ctx.threshold) {
      const out = await client.send(
        new sdk.PutObjectCommand({ ...params, Body: bytes }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
      opts.onProgress?.(bytes.length);
      return { key, size: bytes.length, etag: cleanEtag(out.ETag) };
    }
    return uploadMultipart(ctx, sdk, client, { params, key, body, bytes }, opts);
  });
}

/** Throws AlreadyExistsError when `key` exists. */
async function refuseExisting(ctx: S3Context, self: Pick<Storage, 'exists'>, key: string): Promise<void> {
  // S3-compatible servers do not all honour If-None-Match; check first (not atomic).
  const exists = await self.exists(key);
  if (exists) {
    const k = fullKey(ctx, key);
    throw new AlreadyExistsError(`Object already exists at s3://${ctx.bucket}/${k}`, {
      context: { key: k },
    });
  }
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
