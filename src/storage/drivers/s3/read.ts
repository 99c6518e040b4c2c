/**
 * The S3 driver's reads: an object's stream (with the response's own length and ETag attached),
 * the whole object, its head (stat), and exists. A read with `ifMatch` sends `If-Match` and checks
 * the answer's ETag too, so a server that ignores the header cannot hand back another version.
 */
import type { Readable } from 'node:stream';
import { NotFoundError, StorageError } from '../../../errors.ts';
import { normalizeMetadata } from '../../body.ts';
import { assertIfMatch, preconditionFailed } from '../../conditions.ts';
import type { GetOptions, GetStreamOptions, GetWithEtagResult, ObjectInfo, Storage } from '../../types.ts';
import { quoteEtag, refusedByCondition } from './conditions.ts';
import { failS3, fullKey, runS3, type S3Context, where } from './context.ts';
import { cleanEtag } from './list-pages.ts';

/** The well-known symbol storage/verified-read.ts reads (RESPONSE_INFO there). */
const RESPONSE_INFO = Symbol.for('sluice.storage.responseInfo');

export async function openObjectStream(
  ctx: S3Context,
  key: string,
  opts: GetStreamOptions = {},
): Promise<Readable> {
  const k = fullKey(ctx, key);
  const { ifMatch } = opts;
  assertIfMatch('Read', key, ifMatch);
  return runS3(ctx, k, 'read', async (sdk, client) => {
    const range = opts.range ? `bytes=${opts.range.start}-${opts.range.end ?? ''}` : undefined;
    const out = await client
      .send(
        new sdk.GetObjectCommand({
          Bucket: ctx.bucket,
          Key: k,
          ...(range ? { Range: range } : {}),
          ...(ifMatch === undefined ? {} : { IfMatch: quoteEtag(ifMatch) }),
        }),
        opts.signal ? { abortSignal: opts.signal } : {},
      )
      .catch((error: unknown) => {
        if (ifMatch !== undefined && refusedByCondition(error))
          throw preconditionFailed(where(ctx, key), k, ifMatch, undefined, error, 'read');
        throw error;
      });
    const body = out.Body as Readable;
    const etag = out.ETag === undefined ? undefined : cleanEtag(out.ETag);
    // A server that ignores If-Match still names the version it sent: nothing else is returned.
    if (ifMatch !== undefined && etag !== cleanEtag(ifMatch)) {
      body.destroy();
      if (etag === undefined)
        throw new StorageError(
          `GetObject of ${where(ctx, key)} answered without an ETag: cannot tell its version`,
          {
            context: { key: k, retryable: true },
          },
        );
      throw preconditionFailed(where(ctx, key), k, ifMatch, etag, undefined, 'read');
    }
    // The response's own length and ETag, for readers that check they got the object they
    // listed (storage/verified-read.ts reads this well-known symbol).
    Object.defineProperty(body, RESPONSE_INFO, { value: { size: out.ContentLength, etag } });
    return body;
  });
}

/** The whole object, read from `self.getStream`; a failure mid-body is mapped like the request's. */
export async function readObject(
  ctx: S3Context,
  self: Pick<Storage, 'getStream'>,
  key: string,
  opts: GetOptions = {},
): Promise<Buffer> {
  return (await readObjectWithEtag(ctx, self, key, opts)).body;
}

/** The whole object and the ETag GetObject answered with, so both describe one version. */
export async function readObjectWithEtag(
  ctx: S3Context,
  self: Pick<Storage, 'getStream'>,
  key: string,
  opts: GetOptions = {},
): Promise<GetWithEtagResult> {
  const stream = await self.getStream(key, opts);
  const info = (stream as Readable & { [RESPONSE_INFO]?: { etag?: string } })[RESPONSE_INFO];
  const parts: Buffer[] = [];
  try {
    for await (const chunk of stream) parts.push(chunk as Buffer);
  } catch (error) {
    throw failS3(ctx, error, fullKey(ctx, key), 'read');
  }
  // S3 always sends one; a server that writes objects in place (s3rver) can answer a read that
  // races a write without it. Transient: read again.
  if (!info?.etag)
    throw new StorageError(`GetObject of ${where(ctx, key)} answered without an ETag`, {
      context: { key: fullKey(ctx, key), retryable: true },
    });
  return { body: Buffer.concat(parts), etag: info.etag };
}

export async function statObject(ctx: S3Context, key: string): Promise<ObjectInfo> {
  const k = fullKey(ctx, key);
  return runS3(ctx, k, 'stat', async (sdk, client) => {
    const out = await client.send(new sdk.HeadObjectCommand({ Bucket: ctx.bucket, Key: k }));
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
}

/** A HEAD through `self.stat`: absent is false, any other failure throws. */
export async function existsByStat(self: Pick<Storage, 'stat'>, key: string): Promise<boolean> {
  try {
    await self.stat(key);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}
