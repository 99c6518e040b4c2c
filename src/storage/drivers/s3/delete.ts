/**
 * The S3 driver's deletes: one object, or many in batches of 1,000 (a batch's failures throw).
 * With `ifMatch` a delete sends `If-Match` (DeleteObjects: the object's `ETag` element), which
 * AWS S3 honours on general purpose buckets: 412 (or a per-key PreconditionFailed) when the
 * object is at another version, which stays. A key already gone is deleted either way (AWS
 * answers a conditional delete of a missing key with 404). A server that ignores the condition
 * deletes whatever is there: nothing in the answer tells.
 */
import {
  assertIfMatch,
  type DeleteFailure,
  deleteManyFailure,
  deleteTargetOf,
  preconditionFailed,
} from '../../conditions.ts';
import type { DeleteOptions, DeleteTarget } from '../../types.ts';
import { answeredMissing, quoteEtag, refusedByCondition } from './conditions.ts';
import { fullKey, runS3, type S3Context, where } from './context.ts';

export async function deleteObject(ctx: S3Context, key: string, opts: DeleteOptions = {}): Promise<void> {
  const k = fullKey(ctx, key);
  const { ifMatch } = opts;
  assertIfMatch('Delete', key, ifMatch);
  await runS3(ctx, k, 'delete', (sdk, client) =>
    client
      .send(
        new sdk.DeleteObjectCommand({
          Bucket: ctx.bucket,
          Key: k,
          ...(ifMatch === undefined ? {} : { IfMatch: quoteEtag(ifMatch) }),
        }),
      )
      .catch((error: unknown) => {
        if (ifMatch === undefined) throw error;
        if (refusedByCondition(error))
          throw preconditionFailed(where(ctx, key), k, ifMatch, undefined, error, 'delete');
        if (!answeredMissing(error)) throw error;
      }),
  );
}

/** Per-key answers of DeleteObjects that mean the key's condition did not hold. */
const REFUSED_CODES = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);

/**
 * All keys are checked before the first request; keys the server did not delete throw (see
 * `Storage.deleteMany`), named as the caller named them.
 */
export async function deleteObjects(ctx: S3Context, keys: readonly (string | DeleteTarget)[]): Promise<void> {
  const targets = keys.map(deleteTargetOf);
  const all = targets.map((t) => ({ ...t, full: fullKey(ctx, t.key) }));
  const failures: DeleteFailure[] = [];
  for (let i = 0; i < all.length; i += 1000) {
    const batch = all.slice(i, i + 1000);
    const callerKey = new Map(batch.map((t) => [t.full, t.key]));
    const out = await runS3(ctx, batch[0]?.full ?? '', 'delete', (sdk, client) =>
      client.send(
        new sdk.DeleteObjectsCommand({
          Bucket: ctx.bucket,
          Delete: {
            Objects: batch.map((t) => ({
              Key: t.full,
              ...(t.ifMatch === undefined ? {} : { ETag: quoteEtag(t.ifMatch) }),
            })),
            Quiet: true,
          },
        }),
      ),
    );
    for (const e of out.Errors ?? []) {
      // A conditional delete of a key already gone: deleted, as without the condition.
      if (e.Code === 'NoSuchKey') continue;
      failures.push({
        key: callerKey.get(e.Key ?? '') ?? e.Key ?? '',
        refused: REFUSED_CODES.has(e.Code ?? ''),
        reason: `${e.Code}${e.Message ? `: ${e.Message}` : ''}`,
      });
    }
  }
  if (failures.length > 0) throw deleteManyFailure(`s3://${ctx.bucket}/${ctx.base}`, failures, all.length);
}
