import { renameKeysNotDeleted } from './conditions.ts';
import { assertValidKey, joinKey, normalizePrefix } from './keys.ts';
import type { DeleteTarget, ListEntry, ListOptions, Storage } from './types.ts';

/**
 * A view of `base` rooted at `prefix`: every key is joined onto the prefix and listings are
 * stripped of it. Keys are validated here too, so a scoped view can never reach outside its root.
 */
export function scopeStorage(base: Storage, prefix: string): Storage {
  const root = normalizePrefix(prefix);
  if (root === '') return base;
  const full = (key: string) => joinKey(root, assertValidKey(key));
  const view: Storage = {
    kind: base.kind,
    url: `${base.url.replace(/\/$/, '')}/${root}`,
    capabilities: base.capabilities,
    get: (key, o) => base.get(full(key), o),
    getWithEtag: (key, o) => base.getWithEtag(full(key), o),
    getStream: (key, o) => base.getStream(full(key), o),
    put: async (key, body, o) => ({ ...(await base.put(full(key), body, o)), key }),
    stat: async (key) => ({ ...(await base.stat(full(key))), key }),
    exists: (key) => base.exists(full(key)),
    async *list(options: ListOptions = {}): AsyncIterable<ListEntry> {
      const inner: ListOptions = { ...options, prefix: root + (options.prefix ?? '') };
      if (options.startAfter !== undefined) inner.startAfter = root + options.startAfter;
      if (options.expectedKeys) {
        const inView = (keys: readonly string[] | undefined) => keys?.map((k) => root + k);
        inner.expectedKeys = Array.isArray(options.expectedKeys)
          ? (inView(options.expectedKeys) as string[])
          : Promise.resolve(options.expectedKeys).then(inView);
      }
      for await (const entry of base.list(inner)) {
        if (entry.type === 'object') yield { ...entry, key: entry.key.slice(root.length) };
        else yield { type: 'prefix', prefix: entry.prefix.slice(root.length) };
      }
    },
    delete: (key, o) => base.delete(full(key), o),
    deleteMany: (keys) =>
      base
        .deleteMany(
          keys.map((k): string | DeleteTarget =>
            typeof k === 'string' ? full(k) : { ...k, key: full(k.key) },
          ),
        )
        .catch((error: unknown) => {
          // The base named the keys it left in its own terms: name them as the view's caller did.
          renameKeysNotDeleted(error, (k) => (k.startsWith(root) ? k.slice(root.length) : k));
          throw error;
        }),
    copy: (a, b, o) => base.copy(full(a), full(b), o),
    move: (a, b, o) => base.move(full(a), full(b), o),
    conditionalWrites: () => base.conditionalWrites(),
    scope: (p) => scopeStorage(view, p),
    close: () => base.close(),
  };
  if (base.localPath) {
    const localPath = base.localPath.bind(base);
    view.localPath = (key) => localPath(full(key));
  }
  return view;
}

/** Collects a listing into an array of object entries (for small listings and tests). */
export async function listKeys(storage: Storage, options: ListOptions = {}): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of storage.list(options)) {
    keys.push(entry.type === 'object' ? entry.key : entry.prefix);
  }
  return keys;
}
