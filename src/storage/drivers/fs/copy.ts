/**
 * The fs driver's copy: the bytes and the metadata of the source from one open handle, so the
 * copy is one version even if the source is replaced meanwhile; with `ifMatch`, that version
 * only (E015 otherwise, checked on the handle: read.ts openVersion).
 */
import type { Readable } from 'node:stream';
import { contentTypeFor } from '../../content-types.ts';
import type { CopyOptions, PutOptions, Storage } from '../../types.ts';
import { type FsContext, fileOf } from './context.ts';
import { mapFsError } from './errors.ts';
import { openVersion } from './read.ts';

export async function copyFile(
  ctx: FsContext,
  self: Pick<Storage, 'put'>,
  fromKey: string,
  toKey: string,
  opts: CopyOptions = {},
): Promise<void> {
  let body: Readable;
  const putOpts: PutOptions = {};
  try {
    const { handle, st } = await openVersion(ctx, fromKey, opts.ifMatch, 'copy');
    try {
      const sidecar = await ctx.sidecars.read(fromKey, fileOf(ctx, fromKey), st);
      putOpts.metadata = opts.metadata ?? sidecar?.metadata ?? {};
      // As stat reports it: the one a put named, else the extension's.
      putOpts.contentType = sidecar?.contentType ?? contentTypeFor(fromKey);
      body = handle.createReadStream({ autoClose: true });
    } catch (error) {
      await handle.close();
      throw error;
    }
  } catch (error) {
    throw mapFsError(error, ctx.root, fromKey, 'read');
  }
  try {
    await self.put(toKey, body, putOpts);
  } finally {
    // A put that failed before reading it all leaves the handle open otherwise.
    body.destroy();
  }
}
