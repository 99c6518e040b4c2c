/** Where ingestion data lives: a Storage whose root is the base directory. */
import * as fsp from 'node:fs/promises';
import { loadConfig } from '../config/config.ts';
import { StorageError } from '../errors.ts';
import { joinKey } from '../storage/keys.ts';
import { type OpenStorageOptions, openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { safeId } from './ids.ts';

/** The seed's default base directory. */
export const DEFAULT_BASE_DIR = 'data/api_ingestion';
/** The seed's default source name. */
export const DEFAULT_SOURCE = 'default';

export interface IngestLocation {
  /**
   * The storage whose root is the base directory (local disk, S3, memory). When given,
   * `baseDir` is ignored.
   */
  storage?: Storage;
  /**
   * Base directory or storage URL (`./dir`, `s3://bucket/prefix`).
   * @default SLUICE_INGEST_BASE_DIR, then the config file's ingestBaseDir, then 'data/api_ingestion'
   */
  baseDir?: string;
  /** Options for opening `baseDir` (S3 endpoint, credentials). */
  storageOptions?: OpenStorageOptions;
}

export function defaultBaseDir(): string {
  return loadConfig().data.ingestBaseDir ?? DEFAULT_BASE_DIR;
}

/** The storage to use, and whether the caller must close it (it was opened here). */
export function resolveStorage(location: IngestLocation = {}): { storage: Storage; owned: boolean } {
  if (location.storage) return { storage: location.storage, owned: false };
  return { storage: openStorage(location.baseDir ?? defaultBaseDir(), location.storageOptions), owned: true };
}

export async function withStorage<T>(
  location: IngestLocation,
  fn: (storage: Storage) => Promise<T>,
): Promise<T> {
  const { storage, owned } = resolveStorage(location);
  try {
    return await fn(storage);
  } finally {
    if (owned) await storage.close();
  }
}

/** How a saved file is reported: key relative to the base, a URL, and a local path on disk. */
export interface SavedFile {
  key: string;
  url: string;
  /** Present when the storage is local disk. */
  path?: string;
  size: number;
  /** sha256 of the bytes, on files just saved (what their lineage commit records). */
  sha256?: string;
}

export function describeKey(storage: Storage, key: string, size: number): SavedFile {
  const url = joinKey(storage.url, key);
  return storage.capabilities.localFiles && storage.localPath
    ? { key, url, path: storage.localPath(key), size }
    : { key, url, size };
}

/**
 * Creates `<base>/<source>` and returns where it is (a local path, or a URL on object stores,
 * where folders do not exist and nothing is created).
 */
export async function ensureDataDirectory(
  sourceName: string = DEFAULT_SOURCE,
  location: IngestLocation = {},
): Promise<string> {
  const source = safeId(sourceName, 'source name');
  return withStorage(location, async (storage) => {
    if (storage.capabilities.localFiles && storage.localPath) {
      const dir = storage.localPath(source);
      try {
        await fsp.mkdir(dir, { recursive: true });
      } catch (error) {
        throw new StorageError(`Cannot create ingestion directory ${dir}: ${(error as Error).message}`, {
          cause: error,
          context: { path: dir },
        });
      }
      return dir;
    }
    return joinKey(storage.url, `${source}/`);
  });
}
