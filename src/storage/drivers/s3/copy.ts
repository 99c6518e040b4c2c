/**
 * The S3 driver's copy: a server-side CopyObject. New metadata replaces the source's, which
 * takes the source's content type along (read through `self.stat`).
 *
 * With `ifMatch` the request carries `x-amz-copy-source-if-match`: AWS S3 refuses with 412 when
 * the source is at another version. A server may ignore the header (s3rver does), so unless the
 * probe found the endpoint honours conditions, the answer is checked: the copy's ETag is the
 * source's for a plain single-part object; when it differs (multipart or KMS ETags differ by
 * nature), a HEAD of the source decides. A source found at another version is E015, though the
 * target may then hold that version; the source is never touched.
 */
import { NotFoundError } from '../../../errors.ts';
import { normalizeMetadata } from '../../body.ts';
import { assertIfMatch, preconditionFailed } from '../../conditions.ts';
import { contentTypeFor } from '../../content-types.ts';
import type { CopyOptions, Storage } from '../../types.ts';
import { quoteEtag, refusedByCondition, serverHonoursConditions } from './conditions.ts';
import { fullKey, runS3, type S3Context, where } from './context.ts';
import { cleanEtag } from './list-pages.ts';

export async function copyObject(
  ctx: S3Context,
  self: Pick<Storage, 'stat'>,
  fromKey: string,
  toKey: string,
  opts: CopyOptions = {},
): Promise<void> {
  const from = fullKey(ctx, fromKey);
  const to = fullKey(ctx, toKey);
  const { ifMatch } = opts;
  assertIfMatch('Copy', fromKey, ifMatch);
  const copiedEtag = await runS3(ctx, from, 'copy', async (sdk, client) => {
    let replace = {};
    if (opts.metadata) {
      const info = await self.stat(fromKey);
      replace = {
        MetadataDirective: 'REPLACE' as const,
        Metadata: normalizeMetadata(opts.metadata),
        ContentType: info.contentType ?? contentTypeFor(toKey),
      };
    }
    const source = `${ctx.bucket}/${from}`.split('/').map(encodeURIComponent).join('/');
    const condition = ifMatch === undefined ? {} : { CopySourceIfMatch: quoteEtag(ifMatch) };
    const out = await client
      .send(
        new sdk.CopyObjectCommand({
          Bucket: ctx.bucket,
          Key: to,
          CopySource: source,
          ...replace,
          ...condition,
        }),
      )
      .catch((error: unknown) => {
        if (ifMatch !== undefined && refusedByCondition(error))
          throw preconditionFailed(where(ctx, fromKey), from, ifMatch, undefined, error, 'copy');
        throw error;
      });
    return out.CopyObjectResult?.ETag;
  });
  if (ifMatch === undefined || serverHonoursConditions(ctx)) return;
  if (copiedEtag !== undefined && cleanEtag(copiedEtag) === cleanEtag(ifMatch)) return;
  const actual = await self.stat(fromKey).then(
    (info) => info.etag,
    (error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    },
  );
  if (actual !== cleanEtag(ifMatch))
    throw preconditionFailed(where(ctx, fromKey), from, ifMatch, actual, undefined, 'copy');
}
