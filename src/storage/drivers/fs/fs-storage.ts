/**
 * Local disk. Every put writes a temp file in the target's directory, fsyncs it, renames it over
 * the target and fsyncs the directory, so a reader (or a crash) sees the old file or the new one.
 * User metadata and content type live in `<root>/_sluice/meta/<key>.json`, out of the data
 * folders, and are bound to the file's inode, so metadata never describes a file it was not
 * written with (drivers/fs/meta.ts).
 */
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, SluiceError, StorageError } from '../../../errors.ts';
import { fromOsError } from '../../../os-errors.ts';
import { makeDirectory, syncDirectory } from '../../../util/fsync-dir.ts';
import { bodyBytes, bodyChunks, normalizeMetadata } from '../../body.ts';
import { contentTypeFor } from '../../content-types.ts';
import { assertValidKey } from '../../keys.ts';
import { scopeStorage } from '../../scoped.ts';
import type { ListOptions, ObjectInfo, PutOptions, PutResult, Storage } from '../../types.ts';
import { etagOf, listFs } from './list.ts';
import { createSidecarStore, type Sidecar } from './meta.ts';
import { tempPathBeside, unlinkQuietly } from './meta-files.ts';

export interface FsStorageOptions {
  /** Directory that holds the objects; created on first write. */
  root: string;
  /** fsync files and directories on every put. Turning it off trades crash safety for speed. @default true */
  fsync?: boolean;
}

/**
 * OS errors in the user's words, naming the object's path (never its temp file). A folder in the
 * way of a read is no object (E011); ENOENT on a write means the root could not be created.
 */
function mapFsError(error: unknown, root: string, key: string, action: string): Error {
  if (error instanceof SluiceError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const where = path.join(root, key);
  const context = { key, path: where, errno: code };
  const writing = action === 'write' || action === 'move' || action === 'delete';
  if (!writing && (code === 'ENOENT' || code === 'ENOTDIR')) {
    const mapped = code === 'ENOTDIR' ? fromOsError(error, { path: where, access: 'read' }) : undefined;
    return new NotFoundError(mapped?.message ?? `No file at ${where}`, { cause: error, context });
  }
  const mapped = fromOsError(error, { path: where, access: writing ? 'write' : 'read', context: { key } });
  if (mapped) return mapped;
  const message = (error as Error).message ?? String(error);
  return new StorageError(`Cannot ${action} ${where}: ${message}`, { cause: error, context });
}

export function createFsStorage(options: FsStorageOptions): Storage {
  const root = path.resolve(options.root);
  const durable = options.fsync ?? true;
  const fileOf = (key: string) => path.join(root, ...assertValidKey(key).split('/'));
  const sidecars = createSidecarStore(root, durable);

  /**
   * Runs `write(tmp)` on a fresh temp path beside `file` and returns the temp file's stat (its
   * inode, size and mtime survive the rename, so they also give the published object's etag).
   * The directory is created only when the first attempt finds it missing: one syscall fewer
   * on the common path. The temp file is removed if anything fails.
   */
  async function writeTemp(
    file: string,
    write: (tmp: string) => Promise<Stats>,
  ): Promise<{ tmp: string; st: Stats }> {
    const tmp = tempPathBeside(file);
    try {
      try {
        return { tmp, st: await write(tmp) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await makeDirectory(path.dirname(file), durable);
        return { tmp, st: await write(tmp) };
      }
    } catch (error) {
      await unlinkQuietly(tmp).catch(() => undefined);
      throw error;
    }
  }

  async function writeBytes(tmp: string, bytes: Buffer, signal?: AbortSignal): Promise<Stats> {
    const handle = await fsp.open(tmp, 'wx');
    try {
      await handle.writeFile(bytes, signal ? { signal } : {});
      if (durable) await handle.sync();
      return await handle.stat();
    } finally {
      await handle.close();
    }
  }

  async function publish(tmp: string, file: string, ifNotExists: boolean): Promise<void> {
    if (ifNotExists) {
      // link() fails if the target exists: an atomic create-if-absent.
      await fsp.link(tmp, file);
      await unlinkQuietly(tmp);
    } else {
      await fsp.rename(tmp, file);
    }
    if (durable) await syncDirectory(path.dirname(file));
  }

  const storage: Storage = {
    kind: 'fs',
    url: `file://${root}`,
    capabilities: { atomicCreate: true, localFiles: true },

    async get(key) {
      try {
        return await fsp.readFile(fileOf(key));
      } catch (error) {
        throw mapFsError(error, root, key, 'read');
      }
    },

    async getStream(key, opts = {}) {
      const file = fileOf(key);
      try {
        const handle = await fsp.open(file, 'r');
        // open() succeeds on a folder; its stream would fail later with a pathless EISDIR.
        const isFolder = await handle.stat().then(
          (st) => st.isDirectory(),
          () => false,
        );
        if (isFolder) {
          await handle.close();
          throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${file}'`), {
            code: 'EISDIR',
            syscall: 'open',
            path: file,
          });
        }
        const range = opts.range
          ? { start: opts.range.start, ...(opts.range.end === undefined ? {} : { end: opts.range.end }) }
          : {};
        return handle.createReadStream({
          ...range,
          autoClose: true,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (error) {
        throw mapFsError(error, root, key, 'read');
      }
    },

    async put(key, body, opts: PutOptions = {}): Promise<PutResult> {
      const file = fileOf(key);
      const metadata = normalizeMetadata(opts.metadata);
      try {
        let size = 0;
        const bytes = bodyBytes(body);
        const { tmp, st } = await writeTemp(file, async (tmp) => {
          if (bytes) {
            const written = await writeBytes(tmp, bytes, opts.signal);
            size = bytes.length;
            opts.onProgress?.(size);
            return written;
          }
          // A stream cannot be replayed, so its directory is made before the first byte is read.
          await makeDirectory(path.dirname(file), durable);
          const out = createWriteStream(tmp, { flush: durable, flags: 'wx' });
          async function* counted() {
            for await (const chunk of bodyChunks(body)) {
              size += chunk.length;
              opts.onProgress?.(size);
              yield chunk;
            }
          }
          await pipeline(counted, out, ...(opts.signal ? [{ signal: opts.signal }] : []));
          return fsp.stat(tmp);
        });
        // A content type the extension already implies is not kept (stat derives it): no
        // sidecar for a file that has nothing else to remember.
        const contentType = opts.contentType === contentTypeFor(key) ? undefined : opts.contentType;
        const sidecar: Sidecar | undefined =
          contentType || Object.keys(metadata).length > 0
            ? { ino: st.ino, size, mtimeMs: st.mtimeMs, metadata, ...(contentType ? { contentType } : {}) }
            : undefined;
        // Normally the sidecar goes first, so the file is never visible without its metadata.
        // A create-if-absent may fail, and must not touch the existing file's sidecar: it goes after.
        const createOnly = opts.ifNotExists ?? false;
        let published = false;
        try {
          if (sidecar && !createOnly) await sidecars.write(key, sidecar);
          // A replaced file's old sidecar must not outlive it (it would describe other bytes).
          else if (!createOnly) await sidecars.remove(key);
          await publish(tmp, file, createOnly);
          published = true;
          if (sidecar && createOnly) await sidecars.write(key, sidecar);
        } finally {
          if (!published) await unlinkQuietly(tmp);
        }
        return { key, size, etag: etagOf(st) };
      } catch (error) {
        throw mapFsError(error, root, key, 'write');
      }
    },

    async stat(key): Promise<ObjectInfo> {
      const file = fileOf(key);
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
        const sidecar = await sidecars.read(key, file, st);
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
        throw mapFsError(error, root, key, 'stat');
      }
    },

    async exists(key) {
      try {
        return (await fsp.stat(fileOf(key))).isFile();
      } catch {
        return false;
      }
    },

    list(opts: ListOptions = {}) {
      return listFs(root, opts, sidecars.migrateLegacy);
    },

    async delete(key) {
      const file = fileOf(key);
      await fsp.rm(file, { force: true }).catch((error) => {
        throw mapFsError(error, root, key, 'delete');
      });
      await sidecars.remove(key);
    },

    async deleteMany(keys) {
      for (const key of keys) assertValidKey(key);
      for (const key of keys) await storage.delete(key);
    },

    async copy(fromKey, toKey, opts = {}) {
      const info = await storage.stat(fromKey);
      const putOpts: PutOptions = { metadata: opts.metadata ?? info.metadata };
      if (info.contentType) putOpts.contentType = info.contentType;
      await storage.put(toKey, createReadStream(fileOf(fromKey)), putOpts);
    },

    async move(fromKey, toKey) {
      const from = fileOf(fromKey);
      const to = fileOf(toKey);
      if (from === to) return;
      try {
        const st = await fsp.stat(from);
        const sidecar = await sidecars.read(fromKey, from, st);
        await makeDirectory(path.dirname(to), durable);
        // rename keeps inode, size and mtime, so the sidecar written first stays bound to the moved file.
        if (sidecar) await sidecars.write(toKey, sidecar);
        else await sidecars.remove(toKey);
        await fsp.rename(from, to);
        if (durable) {
          await syncDirectory(path.dirname(to));
          if (path.dirname(to) !== path.dirname(from)) await syncDirectory(path.dirname(from));
        }
        await sidecars.remove(fromKey);
      } catch (error) {
        throw mapFsError(error, root, fromKey, 'move');
      }
    },

    localPath: (key) => fileOf(key),
    scope: (prefix) => scopeStorage(storage, prefix),
    async close() {},
  };
  return storage;
}
