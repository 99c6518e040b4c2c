/**
 * Local disk. Every put writes a temp file in the target's directory, fsyncs it, renames it over
 * the target and fsyncs the directory, so a reader (or a crash) sees the old file or the new one.
 * User metadata and content type live in `<root>/_sluice/meta/<key>.json`, out of the data
 * folders, and are bound to the file's inode, so metadata never describes a file it was not
 * written with (drivers/fs/meta.ts).
 *
 * This file holds the options and the driver's table of operations over one explicit context
 * (context.ts); the operations live beside it: reads in read.ts, the atomic put in put.ts,
 * delete and move in remove.ts (with ifMatch: claim.ts), copy in copy.ts, listing in list.ts.
 */
import path from 'node:path';
import { PreconditionFailedError } from '../../../errors.ts';
import { type DeleteFailure, deleteManyFailure, deleteTargetOf } from '../../conditions.ts';
import { assertValidKey } from '../../keys.ts';
import { scopeStorage } from '../../scoped.ts';
import type { Storage } from '../../types.ts';
import { type FsContext, fileOf } from './context.ts';
import { copyFile } from './copy.ts';
import { listFs } from './list.ts';
import { createSidecarStore } from './meta.ts';
import { putFile } from './put.ts';
import { fileExists, getFile, getFileWithEtag, openFileStream, statFile } from './read.ts';
import { deleteFile, moveFile } from './remove.ts';

export interface FsStorageOptions {
  /** Directory that holds the objects; created on first write. */
  root: string;
  /** fsync files and directories on every put. Turning it off trades crash safety for speed. @default true */
  fsync?: boolean;
}

export function createFsStorage(options: FsStorageOptions): Storage {
  const root = path.resolve(options.root);
  const durable = options.fsync ?? true;
  const ctx: FsContext = { root, durable, sidecars: createSidecarStore(root, durable) };

  // The operations that are made of others call them through `storage`, the object handed out.
  const storage: Storage = {
    kind: 'fs',
    url: `file://${root}`,
    capabilities: { atomicCreate: true, localFiles: true },
    get: (key, opts) => getFile(ctx, key, opts),
    getWithEtag: (key, opts) => getFileWithEtag(ctx, key, opts),
    getStream: (key, opts) => openFileStream(ctx, key, opts),
    put: (key, body, opts) => putFile(ctx, key, body, opts),
    stat: (key) => statFile(ctx, key),
    exists: (key) => fileExists(ctx, key),
    list: (opts = {}) => listFs(root, opts, ctx.sidecars.migrateLegacy),
    delete: (key, opts) => deleteFile(ctx, key, opts),

    async deleteMany(keys) {
      const targets = keys.map(deleteTargetOf);
      for (const t of targets) assertValidKey(t.key);
      // A key refused by its ifMatch does not stop the others; any other failure throws at once.
      const failures: DeleteFailure[] = [];
      for (const t of targets) {
        await storage.delete(t.key, t.ifMatch === undefined ? {} : { ifMatch: t.ifMatch }).catch((error) => {
          if (!(error instanceof PreconditionFailedError)) throw error;
          failures.push({ key: t.key, refused: true, reason: error.message });
        });
      }
      if (failures.length > 0) throw deleteManyFailure(storage.url, failures, targets.length);
    },

    copy: (fromKey, toKey, opts) => copyFile(ctx, storage, fromKey, toKey, opts),
    move: (fromKey, toKey, opts) => moveFile(ctx, fromKey, toKey, opts),
    localPath: (key) => fileOf(ctx, key),
    // A put's ifMatch is a check before the rename (put.ts): atomic between the puts of one
    // process only. Reads and copies with ifMatch are exact; delete and move: claim.ts.
    conditionalWrites: async () => false,
    scope: (prefix) => scopeStorage(storage, prefix),
    async close() {},
  };
  return storage;
}
