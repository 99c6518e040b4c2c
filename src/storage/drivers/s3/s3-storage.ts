/**
 * S3 and S3-compatible object storage through AWS SDK v3. The SDK is imported on first use, so
 * users of local storage never load it. Large and streamed bodies go through lib-storage's
 * multipart Upload; listings follow every continuation token and throw rather than stop early.
 *
 * This file holds the driver's table of operations over one explicit context (context.ts); the
 * operations live beside it: reads in read.ts, put in put.ts, list in list.ts, deletes in
 * delete.ts, copy in copy.ts, the conditional-write probe in conditional-probe.ts; the SDK and its
 * clients in client.ts.
 */
import { scopeStorage } from '../../scoped.ts';
import type { Storage } from '../../types.ts';
import { probeConditionalWrites } from './conditional-probe.ts';
import { createS3Context } from './context.ts';
import { copyObject } from './copy.ts';
import { deleteObject, deleteObjects } from './delete.ts';
import { listObjects } from './list.ts';
import type { S3StorageOptions } from './options.ts';
import { putObject } from './put.ts';
import { existsByStat, openObjectStream, readObject, readObjectWithEtag, statObject } from './read.ts';

export { closeS3Clients } from './client.ts';
export type { S3StorageOptions } from './options.ts';

export function createS3Storage(options: S3StorageOptions): Storage {
  const ctx = createS3Context(options);

  // The operations that are made of others call them through `storage`, the object handed out.
  const storage: Storage = {
    kind: 's3',
    url: `s3://${ctx.bucket}/${ctx.base}`,
    capabilities: { atomicCreate: false, localFiles: false },
    get: (key, opts) => readObject(ctx, storage, key, opts),
    getWithEtag: (key, opts) => readObjectWithEtag(ctx, storage, key, opts),
    getStream: (key, opts) => openObjectStream(ctx, key, opts),
    put: (key, body, opts) => putObject(ctx, storage, key, body, opts),
    stat: (key) => statObject(ctx, key),
    exists: (key) => existsByStat(storage, key),
    list: (opts) => listObjects(ctx, opts),
    delete: (key, opts) => deleteObject(ctx, key, opts),
    deleteMany: (keys) => deleteObjects(ctx, keys),
    copy: (fromKey, toKey, opts) => copyObject(ctx, storage, fromKey, toKey, opts),

    async move(fromKey, toKey, opts = {}) {
      if (fromKey === toKey) return;
      const condition = opts.ifMatch === undefined ? {} : { ifMatch: opts.ifMatch };
      await storage.copy(fromKey, toKey, condition);
      await storage.delete(fromKey, condition);
    },

    conditionalWrites: () => probeConditionalWrites(ctx),
    scope: (prefix) => scopeStorage(storage, prefix),
    async close() {},
  };
  return storage;
}
