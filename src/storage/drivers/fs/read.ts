/**
 * The fs driver's reads: a whole file, a (ranged) stream, stat with the sidecar bound to the
 * file, and exists. A folder where a key's file would be is no object, as on S3. A read with
 * `ifMatch` checks the ETag of the file it opened (openVersion).
 */
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { NotFoundError } from '../../../errors.ts';
import { assertIfMatch, preconditionFailed } from '../../conditions.ts';
import { contentTypeFor } from '../../content-types.ts';
import type { GetOptions, GetStreamOptions, GetWithEtagResult, ObjectInfo } from '../../types.ts';
import { type FsContext, fileOf } from './context.ts';
import { mapFsError } from './errors.ts';
import { etagOf } from './list.ts';

export async function getFile(ctx: FsContext, key: string, opts: GetOptions = {}): Promise<Buffer> {
  if (opts.ifMatch !== undefined) return (await getFileWithEtag(ctx, key, opts)).body;
  try {
    return await fsp.readFile(fileOf(ctx, key));
  } catch (error) {
    throw mapFsError(error, ctx.root, key, 'read');
  }
}

/**
 * The file and its etag, both from one open handle: a put renames a new file over the path, so
 * the handle keeps the version it opened and the etag (inode, size, mtime) is that version's.
 */
export async function getFileWithEtag(
  ctx: FsContext,
  key: string,
  opts: GetOptions = {},
): Promise<GetWithEtagResult> {
  try {
    const { handle, st } = await openVersion(ctx, key, opts.ifMatch);
    try {
      return { body: await handle.readFile(), etag: etagOf(st) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw mapFsError(error, ctx.root, key, 'read');
  }
}

/**
 * Opens `key`'s file, refusing a folder (open() succeeds on one; its stream would fail later with
 * a pathless EISDIR). With `ifMatch`, only the version at that ETag (E015 otherwise): the check
 * is on the open handle, which keeps its version whatever is renamed over the path afterwards,
 * so what is read is exactly the version checked. Errors are OS errors or E015, unmapped.
 */
export async function openVersion(
  ctx: FsContext,
  key: string,
  ifMatch: string | undefined,
  operation = 'read',
): Promise<{ handle: FileHandle; st: Stats }> {
  assertIfMatch(operation, key, ifMatch);
  const file = fileOf(ctx, key);
  const handle = await fsp.open(file, 'r');
  try {
    const st = await handle.stat();
    if (st.isDirectory())
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${file}'`), {
        code: 'EISDIR',
        syscall: 'open',
        path: file,
      });
    if (ifMatch !== undefined && etagOf(st) !== ifMatch)
      throw preconditionFailed(file, key, ifMatch, etagOf(st), undefined, operation);
    return { handle, st };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export async function openFileStream(
  ctx: FsContext,
  key: string,
  opts: GetStreamOptions = {},
): Promise<Readable> {
  try {
    const { handle } = await openVersion(ctx, key, opts.ifMatch);
    const range = opts.range
      ? { start: opts.range.start, ...(opts.range.end === undefined ? {} : { end: opts.range.end }) }
      : {};
    return handle.createReadStream({
      ...range,
      autoClose: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (error) {
    throw mapFsError(error, ctx.root, key, 'read');
  }
}

export async function statFile(ctx: FsContext, key: string): Promise<ObjectInfo> {
  const file = fileOf(ctx, key);
  try {
    const st = await fsp.stat(file);
    // No object has this key (as on S3), though the path holds a folder: say so.
    if (!st.isFile())
      throw new NotFoundError(
        `No file at ${file}: it is a ${st.isDirectory() ? 'directory' : 'special file'}`,
        {
          context: { key, path: file },
        },
      );
    const sidecar = await ctx.sidecars.read(key, file, st);
    const info: ObjectInfo = {
      key,
      size: st.size,
      mtime: new Date(st.mtimeMs),
      etag: etagOf(st),
      metadata: sidecar?.metadata ?? {},
    };
    // Kept only when a put named one; otherwise by extension, as S3 stores it.
    info.contentType = sidecar?.contentType ?? contentTypeFor(key);
    return info;
  } catch (error) {
    throw mapFsError(error, ctx.root, key, 'stat');
  }
}

/** A file at `key`; false for anything else, an invalid key included. */
export async function fileExists(ctx: FsContext, key: string): Promise<boolean> {
  try {
    return (await fsp.stat(fileOf(ctx, key))).isFile();
  } catch {
    return false;
  }
}
