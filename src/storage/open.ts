import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidUrlError } from '../errors.ts';
import { createFsStorage, type FsStorageOptions } from './drivers/fs/fs-storage.ts';
import { createMemoryStorage } from './drivers/memory/memory-storage.ts';
import { closeS3Clients, createS3Storage, type S3StorageOptions } from './drivers/s3/s3-storage.ts';
import { assertValidPrefix } from './keys.ts';
import type { Storage } from './types.ts';

export interface OpenStorageOptions {
  /** Options for s3:// URLs (endpoint, region, credentials, …); the URL's bucket and prefix win. */
  s3?: Omit<S3StorageOptions, 'bucket' | 'prefix'>;
  /** Options for local paths. */
  fs?: Omit<FsStorageOptions, 'root'>;
}

export type ParsedStorageUrl =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      endpoint?: string;
      region?: string;
      forcePathStyle?: boolean;
    }
  | { kind: 'memory'; name: string };

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `./dir`, `/abs/dir`, `file:///abs/dir`, `s3://bucket/prefix?endpoint=…&region=…&pathStyle=true`
 * or `memory://name`. Prefixes are validated like keys: `s3://b/a/../c` is rejected.
 */
export function parseStorageUrl(url: string): ParsedStorageUrl {
  if (typeof url !== 'string' || url === '') throw new InvalidUrlError('Storage URL is empty');
  if (url.includes('\0')) throw new InvalidUrlError(`Storage URL ${JSON.stringify(url)} contains a NUL byte`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'fs', root: path.resolve(url) };
  if (scheme === 'file') return { kind: 'fs', root: fileURLToPath(url) };
  if (scheme === 'memory') return { kind: 'memory', name: url.slice('memory://'.length).replace(/\/$/, '') };
  if (scheme === 's3') {
    const rest = url.slice('s3://'.length);
    const [location = '', query = ''] = rest.split('?', 2);
    const slash = location.indexOf('/');
    const bucket = slash < 0 ? location : location.slice(0, slash);
    const prefix = slash < 0 ? '' : location.slice(slash + 1);
    if (!BUCKET_NAME.test(bucket)) {
      throw new InvalidUrlError(`Invalid S3 bucket name ${JSON.stringify(bucket)} in ${url}`, {
        context: { url },
      });
    }
    assertValidPrefix(prefix);
    const params = new URLSearchParams(query);
    const parsed: ParsedStorageUrl = { kind: 's3', bucket, prefix };
    const endpoint = params.get('endpoint');
    if (endpoint) parsed.endpoint = endpoint;
    const region = params.get('region');
    if (region) parsed.region = region;
    const pathStyle = params.get('pathStyle') ?? params.get('forcePathStyle');
    if (pathStyle !== null) parsed.forcePathStyle = pathStyle === 'true' || pathStyle === '1';
    return parsed;
  }
  throw new InvalidUrlError(
    `Unsupported storage URL scheme '${scheme}://' in ${url}; use a path, file://, s3:// or memory://`,
    {
      context: { url },
    },
  );
}

/** Opens the storage a URL names. Nothing touches the disk or the network until the first call. */
export function openStorage(url: string, options: OpenStorageOptions = {}): Storage {
  const parsed = parseStorageUrl(url);
  switch (parsed.kind) {
    case 'fs':
      return createFsStorage({ ...options.fs, root: parsed.root });
    case 'memory':
      return createMemoryStorage(parsed.name ? { name: parsed.name } : {});
    case 's3': {
      const s3: S3StorageOptions = { ...options.s3, bucket: parsed.bucket, prefix: parsed.prefix };
      if (parsed.endpoint) s3.endpoint = parsed.endpoint;
      if (parsed.region) s3.region = parsed.region;
      if (parsed.forcePathStyle !== undefined) s3.forcePathStyle = parsed.forcePathStyle;
      else if (process.env.SLUICE_S3_FORCE_PATH_STYLE)
        s3.forcePathStyle = process.env.SLUICE_S3_FORCE_PATH_STYLE === 'true';
      return createS3Storage(s3);
    }
  }
}

/**
 * Splits a URL naming one object into its parent storage and key: `s3://b/dir/f.csv` →
 * (`s3://b/dir/`, `f.csv`); `./data/f.csv` → (`./data`, `f.csv`).
 */
export function openObjectUrl(
  url: string,
  options: OpenStorageOptions = {},
): { storage: Storage; key: string } {
  const parsed = parseStorageUrl(url);
  if (parsed.kind === 'fs') {
    return { storage: openStorage(path.dirname(parsed.root), options), key: path.basename(parsed.root) };
  }
  const [location = '', query] = url.split('?', 2);
  const cut = location.lastIndexOf('/');
  const scheme = `${parsed.kind}://`;
  if (cut < scheme.length || cut === location.length - 1) {
    throw new InvalidUrlError(`${url} names a folder or bucket, not an object`, { context: { url } });
  }
  const parent = location.slice(0, cut + 1) + (query ? `?${query}` : '');
  return { storage: openStorage(parent, options), key: location.slice(cut + 1) };
}

/**
 * Closes the connections storages opened (S3 clients keep sockets alive), so a command ends at
 * once instead of waiting for idle sockets to time out.
 */
export function closeStorageClients(): Promise<void> {
  return closeS3Clients();
}
