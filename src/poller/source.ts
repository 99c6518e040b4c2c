import type { OpenStorageOptions } from '../storage/open.ts';
import { openStorage, parseStorageUrl } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';

export interface ResolvedLocation {
  /** Storage at the bucket root (S3) or the watched directory (local). */
  storage: Storage;
  /** Key prefix inside `storage` ('' or ending in '/'). */
  prefix: string;
}

const withSlash = (p: string) => (p === '' || p.endsWith('/') ? p : `${p}/`);

/** `s3://bucket/incoming/` → bucket-root storage + `incoming/`; a local directory → itself + ''. */
export function resolveSource(url: string, options: OpenStorageOptions = {}): ResolvedLocation {
  const parsed = parseStorageUrl(url);
  if (parsed.kind === 's3') {
    const [, query] = url.split('?', 2);
    const root = `s3://${parsed.bucket}/${query ? `?${query}` : ''}`;
    return { storage: openStorage(root, options), prefix: withSlash(parsed.prefix) };
  }
  return { storage: openStorage(url, options), prefix: '' };
}

/** A full URL (`s3://…`, `file://…`, an absolute or `./` path) rather than a key prefix. */
export function isLocationUrl(text: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ||
    text.startsWith('/') ||
    text.startsWith('./') ||
    text.startsWith('../')
  );
}

/**
 * Where archived (or failed) objects go: a prefix in the source's storage (bucket root for S3,
 * inside the watched directory for local sources) or a separate storage URL.
 */
export function resolveTarget(
  spec: string,
  source: ResolvedLocation,
  options: OpenStorageOptions = {},
): ResolvedLocation {
  if (isLocationUrl(spec)) return resolveSource(spec, options);
  return { storage: source.storage, prefix: withSlash(spec) };
}

/**
 * The state-store scope of a source: the same place however it is spelled
 * (`s3://b/in` and `s3://b/in/`, `./drop` and `/abs/drop`), so pollers agree on what is done.
 */
export function sourceScope(url: string): string {
  const parsed = parseStorageUrl(url);
  if (parsed.kind === 's3') return `s3://${parsed.bucket}/${withSlash(parsed.prefix)}`;
  if (parsed.kind === 'fs') return `file://${parsed.root}`;
  return `memory://${parsed.name}`;
}
