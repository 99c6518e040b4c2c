/**
 * One identity per store, whatever the spelling of its URL. Everything keyed on a store (the log
 * folder of an S3 store, the compaction lease, the in-process writer registry) is keyed on this,
 * so `s3://b/w` and `s3://b/w/`, `S3://b/w`, `./w` and `/abs/w` name one store and share one lock.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { parseStorageUrl } from '../storage/open.ts';

/** The endpoints that mean "AWS S3 itself": naming one is the same as naming none. */
const AWS_ENDPOINT = /^https:\/\/s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/;

function canonicalEndpoint(endpoint: string): string | undefined {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return endpoint; // parseStorageUrl accepted it; keep it as written
  }
  const port =
    u.port && !(u.protocol === 'http:' && u.port === '80') && !(u.protocol === 'https:' && u.port === '443');
  const text = `${u.protocol}//${u.hostname.toLowerCase()}${port ? `:${u.port}` : ''}${u.pathname.replace(/\/+$/, '')}`;
  return AWS_ENDPOINT.test(text) ? undefined : text;
}

/** The canonical form of a store's path or URL (see the module comment). */
export function canonicalStoreUrl(url: string): string {
  const parsed = parseStorageUrl(url);
  switch (parsed.kind) {
    case 'fs': {
      let root = parsed.root.replace(/\/+$/, '') || '/';
      try {
        root = realpathSync.native(root);
      } catch {
        // Not created yet: the resolved path is its identity (a symlink to it would be made later).
      }
      return root;
    }
    case 'memory':
      return `memory://${parsed.name}`;
    case 's3': {
      const prefix = parsed.prefix.replace(/^\/+|\/+$/g, '');
      const endpoint = parsed.endpoint ? canonicalEndpoint(parsed.endpoint) : undefined;
      return `s3://${parsed.bucket}${prefix ? `/${prefix}` : ''}${endpoint ? `?endpoint=${endpoint}` : ''}`;
    }
  }
}

/** A short stable digest of the canonical identity (folder and key names). */
export function storeDigest(url: string): string {
  return createHash('sha256').update(canonicalStoreUrl(url)).digest('hex').slice(0, 16);
}

/** The digest the log folder of an S3 store had before identities were canonical (the URL as typed). */
export function legacyStoreDigest(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}
