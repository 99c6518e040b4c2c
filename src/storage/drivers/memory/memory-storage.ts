import { Readable } from 'node:stream';
import { AlreadyExistsError, NotFoundError } from '../../../errors.ts';
import { bodyBytes, collectBody, md5Hex, normalizeMetadata } from '../../body.ts';
import {
  assertIfMatch,
  assertOneCondition,
  type DeleteFailure,
  deleteManyFailure,
  deleteTargetOf,
  preconditionFailed,
} from '../../conditions.ts';
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

  const where = (key: string) => `memory://${options.name ?? ''}/${key}`;
  /**
   * The object at `key`, checked against `ifMatch` in the same step as the caller acts on it (no
   * await in between): every conditional operation here is atomic within the process.
   */
  const mustGet = (key: string, ifMatch?: string, operation = 'read'): MemoryObject => {
    assertIfMatch(operation, key, ifMatch);
    const obj = objects.get(assertValidKey(key));
    if (!obj) throw new NotFoundError(`No object at memory key ${key}`, { context: { key } });
    if (ifMatch !== undefined && obj.etag !== ifMatch)
      throw preconditionFailed(where(key), key, ifMatch, obj.etag, undefined, operation);
    return obj;
  };
  /** Deletes `key` unless it is at another ETag than `ifMatch` (E015); gone is success. */
  const deleteIfMatch = (key: string, ifMatch: string | undefined): void => {
    assertIfMatch('delete', key, ifMatch);
    const obj = objects.get(assertValidKey(key));
    if (obj && ifMatch !== undefined && obj.etag !== ifMatch)
      throw preconditionFailed(where(key), key, ifMatch, obj.etag, undefined, 'delete');
    objects.delete(key);
  };

  const storage: Storage = {
    kind: 'memory',
    url: `memory://${options.name ?? ''}`,
    capabilities: { atomicCreate: true, localFiles: false },

    async get(key, opts = {}) {
      return Buffer.from(mustGet(key, opts.ifMatch).data);
    },

    async getWithEtag(key, opts = {}) {
      const obj = mustGet(key, opts.ifMatch);
      return { body: Buffer.from(obj.data), etag: obj.etag };
    },

    async getStream(key, opts = {}) {
      const { data } = mustGet(key, opts.ifMatch);
      const slice = opts.range
        ? data.subarray(opts.range.start, (opts.range.end ?? data.length - 1) + 1)
        : data;
      return Readable.from([Buffer.from(slice)]);
    },

    async put(key, body, opts: PutOptions = {}) {
      assertValidKey(key);
      assertOneCondition(key, opts);
      // The whole body is collected before the swap, so readers never see part of it; a copy of
      // a caller's buffer, which the caller may change or free after the put.
      const given = bodyBytes(body);
      const data = given ? Buffer.from(given) : await collectBody(body);
      // Checked and swapped with no await between: atomic within the process.
      if (opts.ifNotExists && objects.has(key)) {
        throw new AlreadyExistsError(`Object already exists at ${key}`, { context: { key } });
      }
      if (opts.ifMatch !== undefined && objects.get(key)?.etag !== opts.ifMatch) {
        throw preconditionFailed(where(key), key, opts.ifMatch, objects.get(key)?.etag ?? null);
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

    async delete(key, opts = {}) {
      deleteIfMatch(key, opts.ifMatch);
    },

    async deleteMany(keys) {
      const targets = keys.map(deleteTargetOf);
      for (const t of targets) assertValidKey(t.key);
      const failures: DeleteFailure[] = [];
      for (const t of targets) {
        try {
          deleteIfMatch(t.key, t.ifMatch);
        } catch (error) {
          failures.push({ key: t.key, refused: true, reason: (error as Error).message });
        }
      }
      if (failures.length > 0) throw deleteManyFailure(storage.url, failures, targets.length);
    },

    async copy(fromKey, toKey, opts = {}) {
      assertValidKey(toKey);
      const src = mustGet(fromKey, opts.ifMatch, 'copy');
      objects.set(toKey, {
        ...src,
        mtime: new Date(),
        metadata: opts.metadata ? normalizeMetadata(opts.metadata) : { ...src.metadata },
      });
    },

    async move(fromKey, toKey, opts = {}) {
      assertValidKey(toKey);
      // Checked, copied and deleted with no await between: one atomic step.
      const src = mustGet(fromKey, opts.ifMatch, 'move');
      objects.set(toKey, { ...src, mtime: new Date(), metadata: { ...src.metadata } });
      if (fromKey !== toKey) objects.delete(fromKey);
    },

    conditionalWrites: async () => true,
    scope: (prefix) => scopeStorage(storage, prefix),
    async close() {},
  };
  return storage;
}
