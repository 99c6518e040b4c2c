import { InvalidKeyError } from '../errors.ts';

/**
 * sluice's one reserved folder per storage root: object metadata of a local root lives in
 * `_sluice/meta/` (see fs-meta.ts). Reserved at any depth, not only at the root, because a
 * folder inside one root is often opened as a root of its own (a writer's task folder, a sync
 * source): its `_sluice/` must stay invisible to listings and syncs of the outer root too.
 */
export const SLUICE_DIR = '_sluice';
/** Where earlier sluice versions kept metadata: a folder beside the objects in every data folder. */
export const LEGACY_META_DIR = '.sluice-meta';
/** Folder names that are sluice's; never valid as a key segment, never listed. */
export const RESERVED_SEGMENTS = new Set([SLUICE_DIR, LEGACY_META_DIR]);
export const TEMP_SUFFIX = '.sluice-tmp';
const MAX_KEY_BYTES = 1024;

function problemWith(key: string, allowTrailingSlash: boolean): string | undefined {
  if (typeof key !== 'string') return 'it is not a string';
  if (key.includes('\0')) return 'it contains a NUL byte';
  // A lone surrogate has no UTF-8 form: S3 and the disk would store U+FFFD, another key.
  if (!key.isWellFormed()) return 'it is not valid Unicode (a lone UTF-16 surrogate)';
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

/** True when any segment of `key` is sluice's (a reserved folder or a temp file): never listed. */
export function hasReservedSegment(key: string): boolean {
  // Every reserved name contains 'sluice': listings call this once per key.
  if (!key.includes('sluice')) return false;
  for (const segment of key.split('/'))
    if (RESERVED_SEGMENTS.has(segment) || segment.endsWith(TEMP_SUFFIX)) return true;
  return false;
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
  // Without encoding: listings sort thousands of keys, and two Buffers per comparison made the
  // sort the largest cost of walking a folder. UTF-8 byte order is code point order, which
  // UTF-16 code unit order matches except that surrogates (code points ≥ U+10000) must sort
  // above U+E000–U+FFFF.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
