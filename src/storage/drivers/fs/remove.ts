/**
 * The fs operations that take a file away from its key — delete, and move (a rename) — each
 * keeping the key's sidecar in step with its file. With `ifMatch` they go through claim.ts.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory, syncDirectory } from '../../../util/fsync-dir.ts';
import { assertIfMatch } from '../../conditions.ts';
import type { DeleteOptions, MoveOptions } from '../../types.ts';
import { deleteIfMatch, moveIfMatch } from './claim.ts';
import { type FsContext, fileOf } from './context.ts';
import { mapFsError } from './errors.ts';

export async function deleteFile(ctx: FsContext, key: string, opts: DeleteOptions = {}): Promise<void> {
  assertIfMatch('Delete', key, opts.ifMatch);
  if (opts.ifMatch !== undefined) return deleteIfMatch(ctx, key, opts.ifMatch);
  const file = fileOf(ctx, key);
  await fsp.rm(file, { force: true }).catch((error) => {
    throw mapFsError(error, ctx.root, key, 'delete');
  });
  await ctx.sidecars.remove(key);
}

export async function moveFile(
  ctx: FsContext,
  fromKey: string,
  toKey: string,
  opts: MoveOptions = {},
): Promise<void> {
  assertIfMatch('Move', fromKey, opts.ifMatch);
  if (opts.ifMatch !== undefined) return moveIfMatch(ctx, fromKey, toKey, opts.ifMatch);
  const from = fileOf(ctx, fromKey);
  const to = fileOf(ctx, toKey);
  if (from === to) return;
  try {
    const st = await fsp.stat(from);
    const sidecar = await ctx.sidecars.read(fromKey, from, st);
    await makeDirectory(path.dirname(to), ctx.durable);
    // rename keeps inode, size and mtime, so the sidecar written first stays bound to the moved file.
    if (sidecar) await ctx.sidecars.write(toKey, sidecar);
    else await ctx.sidecars.remove(toKey);
    await fsp.rename(from, to);
    if (ctx.durable) {
      await syncDirectory(path.dirname(to));
      if (path.dirname(to) !== path.dirname(from)) await syncDirectory(path.dirname(from));
    }
    await ctx.sidecars.remove(fromKey);
  } catch (error) {
    throw mapFsError(error, ctx.root, fromKey, 'move');
  }
}
