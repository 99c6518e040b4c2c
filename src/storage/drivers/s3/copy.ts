/**
 * The S3 driver's copy: a server-side CopyObject. New metadata replaces the source's, which
 * takes the source's content type along (read through `self.stat`).
 */
import { normalizeMetadata } from '../../body.ts';
import { contentTypeFor } from '../../content-types.ts';
import type { CopyOptions, Storage } from '../../types.ts';
import { fullKey, runS3, type S3Context } from './context.ts';

export async function copyObject(
  ctx: S3Context,
  self: Pick<Storage, 'stat'>,
  fromKey: string,
  toKey: string,
  opts: CopyOptions = {},
): Promise<void> {
  const from = fullKey(ctx, fromKey);
  const to = fullKey(ctx, toKey);
  await runS3(ctx, from, 'copy', async (sdk, client) => {
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
    return client.send(
      new sdk.CopyObjectCommand({ Bucket: ctx.bucket, Key: to, CopySource: source, ...replace }),
    );
  });
}
