/** The S3 driver's deletes: one object, or many in batches of 1,000 (a batch's failures throw). */
import { StorageError } from '../../../errors.ts';
import { fullKey, runS3, type S3Context } from './context.ts';

export async function deleteObject(ctx: S3Context, key: string): Promise<void> {
  const k = fullKey(ctx, key);
  await runS3(ctx, k, 'delete', (sdk, client) =>
    client.send(new sdk.DeleteObjectCommand({ Bucket: ctx.bucket, Key: k })),
  );
}

/** All keys are checked before the first request; a batch some of whose keys fail throws. */
export async function deleteObjects(ctx: S3Context, keys: readonly string[]): Promise<void> {
  const all = keys.map((key) => fullKey(ctx, key));
  for (let i = 0; i < all.length; i += 1000) {
    const batch = all.slice(i, i + 1000);
    const out = await runS3(ctx, batch[0] ?? '', 'delete', (sdk, client) =>
      client.send(
        new sdk.DeleteObjectsCommand({
          Bucket: ctx.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
    const failed = out.Errors ?? [];
    if (failed.length > 0) {
      throw new StorageError(
        `Could not delete ${failed.length} of ${batch.length} objects, first: s3://${ctx.bucket}/${failed[0]?.Key} (${failed[0]?.Code})`,
        {
          context: { bucket: ctx.bucket, keys: failed.map((f) => f.Key) },
        },
      );
    }
  }
}
