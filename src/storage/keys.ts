import { InvalidKeyError } from '../errors.ts';

/** Folder names sluice keeps beside objects on disk; never valid as a key segment. */
export const RESERVED_SEGMENTS = new Set(['.sluice-meta']);
export const TEMP_SUFFIX = '.sluice-tmp';
const MAX_KEY_BYTES = 1024;

function problemWith(key: string, allowTrailingSlash: boolean): string | undefined {
  if (typeof key !== 'string') return 'it is not a string';
  if (key.includes('\0')) return 'it contains a NUL byte';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it is absolute (starts with /)';
  if (/^[a-zA-Z]:/.test(key)) return 'it is an absolute Windows path';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  const body = allowTrailingSlash && key.endsWith('/') ? key.slice(0, -1) : key;
  if (body === '') return allowTrailingSlash ? undefined : 'it is empty';
  for (const segment of body.split('/')) {
    if (segment === '') return 'it has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return `it has a '${segment}' segment`;
    if (RESERVED_SEGMENTS.has(segment)) return `'${segment}' is reserved for sluice`;
    if (segment.endsWith(TEMP_SUFFIX)) return `segments ending in '${TEMP_SUFFIX}' are reserved for sluice`;
  }
  return undefined;
}

/** Throws InvalidKeyError (E010) unless `key` is a safe relative object key. */
export function assertValidKey(key: string): string {
  const problem = problemWith(key, false);
  if (problem) {
    throw new InvalidKeyError(`Invalid storage key ${JSON.stringify(key)}: ${problem}`, { context: { key } });
  }
  return key;
}

/** Like assertValidKey, for listing prefixes: '' and a trailing '/' are allowed. */
export function assertValidPrefix(prefix: string): string {
  const problem = problemWith(prefix, true);
  if (problem) {
    throw new InvalidKeyError(`Invalid storage prefix ${JSON.stringify(prefix)}: ${problem}`, {
      context: { prefix },
    });
  }
  return prefix;
}

export function isValidKey(key: string): boolean {
  return problemWith(key, false) === undefined;
}

/** Joins a root prefix and a key: `('a/b', 'c')` → `a/b/c`; `('', 'c')` → `c`. */
export function joinKey(root: string, key: string): string {
  if (root === '') return key;
  return root.endsWith('/') ? `${root}${key}` : `${root}/${key}`;
}

/** A prefix normalised to '' or 'x/y/' form. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '');
  if (trimmed === '') return '';
  assertValidPrefix(trimmed);
  return trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

/** Byte-order comparison of keys, as S3 sorts them (UTF-8 bytes, not UTF-16 code units). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
