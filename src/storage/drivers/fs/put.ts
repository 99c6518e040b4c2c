/**
 * The fs driver's put: atomic writes. The body goes to a temp file beside the target, which is
 * fsynced, then renamed over the target (or, for a create-if-absent, linked to it) before the
 * directory is fsynced: a reader, or a crash, sees the old file or the new one. The key's sidecar
 * is written in the order that never shows a file without its metadata.
 */
import type { Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { makeDirectory, syncDirectory } from '../../../util/fsync-dir.ts';
import { bodyBytes, bodyChunks, normalizeMetadata } from '../../body.ts';
import { assertOneCondition, preconditionFailed } from '../../conditions.ts';
import { contentTypeFor } from '../../content-types.ts';
import type { PutBody, PutOptions, PutResult } from '../../types.ts';
import { type FsContext, fileOf } from './context.ts';
import { mapFsError } from './errors.ts';
import { etagOf } from './list.ts';
import type { Sidecar } from './meta.ts';
import { tempPathBeside, unlinkQuietly } from './meta-files.ts';

export async function putFile(
  ctx: FsContext,
  key: string,
  body: PutBody,
  opts: PutOptions = {},
): Promise<PutResult> {
  const file = fileOf(ctx, key);
  assertOneCondition(key, opts);
  const metadata = normalizeMetadata(opts.metadata);
  try {
    // Counted across attempts, as the bytes reach the temp file.
    let size = 0;
    const bytes = bodyBytes(body);
    const { tmp, st } = await writeTemp(ctx, file, async (tmp) => {
      if (bytes) {
        const written = await writeBytes(ctx, tmp, bytes, opts.signal);
        size = bytes.length;
        opts.onProgress?.(size);
        return written;
      }
      return writeStream(ctx, file, tmp, body, opts.signal, (chunkSize) => {
        size += chunkSize;
        opts.onProgress?.(size);
      });
    });
    const sidecar = sidecarFor(key, opts.contentType, metadata, st, size);
    const publishing = () => publishWithSidecar(ctx, key, tmp, file, sidecar, opts.ifNotExists ?? false);
    if (opts.ifMatch === undefined) await publishing();
    else await publishIfMatch(file, key, opts.ifMatch, tmp, publishing);
    return { key, size, etag: etagOf(st) };
  } catch (error) {
    throw mapFsError(error, ctx.root, key, 'write');
  }
}

/** Conditional puts of this process in flight, by file: each waits for the one before. */
const conditional = new Map<string, Promise<unknown>>();

/**
 * Publishes (through `publishing`) only if `file` is still at ETag `expected`. The check and the
 * rename run alone among this process's conditional puts of the file, so of two racing on one
 * ETag exactly one wins; another process can still replace the file between them (the disk has no
 * compare-and-swap rename), so writers in several processes need a lock of their own (the
 * time-series store's lock folder is one). On failure the temp file is removed, the file untouched.
 */
async function publishIfMatch(
  file: string,
  key: string,
  expected: string,
  tmp: string,
  publishing: () => Promise<void>,
): Promise<void> {
  const before = conditional.get(file) ?? Promise.resolve();
  const mine = before
    .catch(() => {})
    .then(async () => {
      const st = await fsp.stat(file).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        await unlinkQuietly(tmp);
        throw error;
      });
      const actual = st?.isFile() ? etagOf(st) : null;
      if (actual !== expected) {
        await unlinkQuietly(tmp);
        throw preconditionFailed(file, key, expected, actual);
      }
      await publishing();
    });
  conditional.set(file, mine);
  try {
    await mine;
  } finally {
    if (conditional.get(file) === mine) conditional.delete(file);
  }
}

/**
 * Runs `write(tmp)` on a fresh temp path beside `file` and returns the temp file's stat (its
 * inode, size and mtime survive the rename, so they also give the published object's etag).
 * The directory is created only when the first attempt finds it missing: one syscall fewer
 * on the common path. The temp file is removed if anything fails.
 */
async function writeTemp(
  ctx: FsContext,
  file: string,
  write: (tmp: string) => Promise<Stats>,
): Promise<{ tmp: string; st: Stats }> {
  const tmp = tempPathBeside(file);
  try {
    try {
      return { tmp, st: await write(tmp) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await makeDirectory(path.dirname(file), ctx.durable);
      return { tmp, st: await write(tmp) };
    }
  } catch (error) {
    await unlinkQuietly(tmp).catch(() => undefined);
    throw error;
  }
}

async function writeBytes(ctx: FsContext, tmp: string, bytes: Buffer, signal?: AbortSignal): Promise<Stats> {
  const handle = await fsp.open(tmp, 'wx');
  try {
    await handle.writeFile(bytes, signal ? { signal } : {});
    if (ctx.durable) await handle.sync();
    return await handle.stat();
  } finally {
    await handle.close();
  }
}

/** Pipes a streamed body into `tmp`, reporting each chunk's size to `counted` before writing it. */
async function writeStream(
  ctx: FsContext,
  file: string,
  tmp: string,
  body: PutBody,
  signal: AbortSignal | undefined,
  counted: (chunkSize: number) => void,
): Promise<Stats> {
  // A stream cannot be replayed, so its directory is made before the first byte is read.
  await makeDirectory(path.dirname(file), ctx.durable);
  // The temp file exists before the first byte is read: a body that fails at once must not race
  // the file's creation, or the cleanup runs first and the file is created after it, left behind.
  const handle = await fsp.open(tmp, 'wx');
  const out = handle.createWriteStream({ flush: ctx.durable });
  async function* chunks() {
    for await (const chunk of bodyChunks(body)) {
      counted(chunk.length);
      yield chunk;
    }
  }
  await pipeline(chunks, out, ...(signal ? [{ signal }] : []));
  return fsp.stat(tmp);
}

/** The sidecar a put leaves for the file `st` describes, or undefined when it has nothing to keep. */
function sidecarFor(
  key: string,
  requestedType: string | undefined,
  metadata: Record<string, string>,
  st: Stats,
  size: number,
): Sidecar | undefined {
  // A content type the extension already implies is not kept (stat derives it): no
  // sidecar for a file that has nothing else to remember.
  const contentType = requestedType === contentTypeFor(key) ? undefined : requestedType;
  return contentType || Object.keys(metadata).length > 0
    ? { ino: st.ino, size, mtimeMs: st.mtimeMs, metadata, ...(contentType ? { contentType } : {}) }
    : undefined;
}

/** Publishes `tmp` as `file` with `key`'s sidecar; the temp file never outlives a failure. */
async function publishWithSidecar(
  ctx: FsContext,
  key: string,
  tmp: string,
  file: string,
  sidecar: Sidecar | undefined,
  createOnly: boolean,
): Promise<void> {
  // Normally the sidecar goes first, so the file is never visible without its metadata.
  // A create-if-absent may fail, and must not touch the existing file's sidecar: it goes after.
  let published = false;
  try {
    if (sidecar && !createOnly) await ctx.sidecars.write(key, sidecar);
    // A replaced file's old sidecar must not outlive it (it would describe other bytes).
    else if (!createOnly) await ctx.sidecars.remove(key);
    await publish(ctx, tmp, file, createOnly);
    published = true;
    if (sidecar && createOnly) await ctx.sidecars.write(key, sidecar);
  } finally {
    if (!published) await unlinkQuietly(tmp);
  }
}

async function publish(ctx: FsContext, tmp: string, file: string, ifNotExists: boolean): Promise<void> {
  if (ifNotExists) {
    // link() fails if the target exists: an atomic create-if-absent.
    await fsp.link(tmp, file);
    await unlinkQuietly(tmp);
  } else {
    await fsp.rename(tmp, file);
  }
  if (ctx.durable) await syncDirectory(path.dirname(file));
}
