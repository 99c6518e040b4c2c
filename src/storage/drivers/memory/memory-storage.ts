import { Readable } from 'node:stream';
import { AlreadyExistsError, NotFoundError } from '../../../errors.ts';
import { collectBody, md5Hex, normalizeMetadata } from '../../body.ts';
import { assertOneCondition, preconditionFailed } from '../../conditions.ts';
import { contentTypeFor } from '../../content-types.ts';
import { assertValidKey, assertValidPrefix, compareKeys, isListed } from '../../keys.ts';
import { scopeStorage } from '../../scoped.ts';
import type { ListEntry, ListOptions, ObjectInfo, PutOptions, Storage } from '../../types.ts';

interface MemoryObject {
  data: Buffer;
  mtime: Date;
  etag: string;
  contentType?: string;
  metadata: Record<string, string>;
}

/** Named in-process stores: `memory://a` opened twice sees the same objects. */
const namedStores = new Map<string, Map<string, MemoryObject>>();

export interface MemoryStorageOptions {
  /** Stores with the same name share their objects within one process. @default a fresh store */
  name?: string;
}

export function createMemoryStorage(options: MemoryStorageOptions = {}): Storage {
  let objects: Map<string, MemoryObject>;
  if (options.name) {
    objects = namedStores.get(options.name) ?? new Map();
    namedStores.set(options.name, objects);
  } else {
    objects = new Map();
  }

  const mustGet = (key: string): MemoryObject => {
    const obj = objects.get(assertValidKey(key));
    if (!obj) throw new NotFoundError(`No object at memory key ${key}`, { context: { key } });
    return obj;
  };

  const storage: Storage = {
    kind: 'memory',
    url: `memory://${options.name ?? ''}`,
    capabilities: { atomicCreate: true, localFiles: false },

    async get(key) {
      return Buffer.from(mustGet(key).data);
    },

    async getWithEtag(key) {
      const obj = mustGet(key);
      return { body: Buffer.from(obj.data), etag: obj.etag };
    },

    async getStream(key, opts = {}) {
      const { data } = mustGet(key);
      const slice = opts.range
        ? data.subarray(opts.range.start, (opts.range.end ?? data.length - 1) + 1)
        : data;
      return Readable.from([Buffer.from(slice)]);
    },

    async put(key, body, opts: PutOptions = {}) {
      assertValidKey(key);
      assertOneCondition(key, opts);
      // The whole body is collected before the swap, so readers never see part of it.
      const data = await collectBody(body);
      // Checked and swapped with no await between: atomic within the process.
      if (opts.ifNotExists && objects.has(key)) {
        throw new AlreadyExistsError(`Object already exists at ${key}`, { context: { key } });
      }
      if (opts.ifMatch !== undefined && objects.get(key)?.etag !== opts.ifMatch) {
        const where = `memory://${options.name ?? ''}/${key}`;
        throw preconditionFailed(where, key, opts.ifMatch, objects.get(key)?.etag ?? null);
      }
      const etag = md5Hex(data);
      const obj: MemoryObject = { data, mtime: new Date(), etag, metadata: normalizeMetadata(opts.metadata) };
      if (opts.contentType) obj.contentType = opts.contentType;
      objects.set(key, obj);
      opts.onProgress?.(data.length);
      return { key, size: data.length, etag };
    },

    async stat(key): Promise<ObjectInfo> {
      const obj = mustGet(key);
      const info: ObjectInfo = {
        key,
        size: obj.data.length,
        mtime: obj.mtime,
        etag: obj.etag,
        metadata: { ...obj.metadata },
      };
      info.contentType = obj.contentType ?? contentTypeFor(key);
      return info;
    },

    async exists(key) {
      return objects.has(assertValidKey(key));
    },

    async *list(opts: ListOptions = {}): AsyncIterable<ListEntry> {
      const prefix = assertValidPrefix(opts.prefix ?? '');
      const recursive = opts.recursive ?? true;
      // sluice's own `_sluice/` only when the prefix names it, as on the other drivers (keys.ts).
      const keys = [...objects.keys()]
        .filter((k) => k.startsWith(prefix) && isListed(k, prefix))
        .sort(compareKeys);
      let lastPrefix: string | undefined;
      for (const key of keys) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (opts.startAfter !== undefined && compareKeys(key, opts.startAfter) <= 0) continue;
        const rest = key.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (!recursive && slash >= 0) {
          const common = prefix + rest.slice(0, slash + 1);
          if (common !== lastPrefix) yield { type: 'prefix', prefix: common };
          lastPrefix = common;
          continue;
        }
        const obj = objects.get(key);
        if (obj) yield { type: 'object', key, size: obj.data.length, mtime: obj.mtime, etag: obj.etag };
      }
    },

    async delete(key) {
      objects.delete(assertValidKey(key));
    },

    async deleteMany(keys) {
      for (const key of keys) assertValidKey(key);
      for (const key of keys) objects.delete(key);
    },

    async copy(fromKey, toKey, opts = {}) {
      const src = mustGet(fromKey);
      assertValidKey(toKey);
      objects.set(toKey, {
        ...src,
        mtime: new Date(),
        metadata: opts.metadata ? normalizeMetadata(opts.metadata) : { ...src.metadata },
      });
    },

    async move(fromKey, toKey) {
      await storage.copy(fromKey, toKey);
      if (fromKey !== toKey) objects.delete(fromKey);
    },

    conditionalWrites: async () => true,
    scope: (prefix) => scopeStorage(storage, prefix),
    async close() {},
  };
  return storage;
}
