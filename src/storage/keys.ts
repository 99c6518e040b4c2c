import { InvalidKeyError } from '../errors.ts';

/**
 * sluice's one reserved folder per storage root. Its own parts are written through the Storage
 * API like any object (the pipeline lake keeps `_sluice/<env>/…` there), but listings leave the
 * folder out unless their prefix names it (`_sluice/dev/`), so a user's listing, `sluice sync` or
 * poll of a root never sees it. `_sluice/meta/` is the fs driver's object metadata (drivers/fs/meta.ts):
 * no key may name it, no listing shows it. Both rules hold at any depth, because a folder inside
 * one root is often opened as a root of its own (a writer's task folder, a lake inside a data
 * folder): its `_sluice/` stays out of the outer root's listings and syncs too.
 */
export const SLUICE_DIR = '_sluice';
/** The fs driver's metadata folder inside `_sluice/`. */
export const META_SUBDIR = 'meta';
/** Where earlier sluice versions kept metadata: a folder beside the objects in every data folder. */
export const LEGACY_META_DIR = '.sluice-meta';
/** Folder names never valid as a key segment, and never listed. */
export const RESERVED_SEGMENTS = new Set([LEGACY_META_DIR]);
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
  const segments = body.split('/');
  for (const [i, segment] of segments.entries()) {
    if (segment === '') return 'it has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return `it has a '${segment}' segment`;
    if (RESERVED_SEGMENTS.has(segment)) return `'${segment}' is reserved for sluice`;
    if (segment.endsWith(TEMP_SUFFIX)) return `segments ending in '${TEMP_SUFFIX}' are reserved for sluice`;
    if (segment !== SLUICE_DIR) continue;
    if (segments[i + 1] === META_SUBDIR)
      return `'${SLUICE_DIR}/${META_SUBDIR}' is reserved for sluice's object metadata`;
    if (i === segments.length - 1 && !allowTrailingSlash)
      return `'${SLUICE_DIR}' is sluice's folder, not a file name`;
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

/**
 * Whether a listing with `prefix` shows `key` (or a `prefix/` entry): never a legacy metadata
 * folder, a temp file or `_sluice/meta/`; a `_sluice` folder only when the prefix names it (it
 * lies within the prefix's whole segments).
 */
export function isListed(key: string, prefix = ''): boolean {
  // Every reserved name contains 'sluice': listings call this once per key.
  if (!key.includes('sluice')) return true;
  const named = prefix.lastIndexOf('/') + 1;
  let at = 0;
  const segments = key.split('/');
  for (const [i, segment] of segments.entries()) {
    if (RESERVED_SEGMENTS.has(segment) || segment.endsWith(TEMP_SUFFIX)) return false;
    if (segment === SLUICE_DIR && (at >= named || segments[i + 1] === META_SUBDIR)) return false;
    at += segment.length + 1;
  }
  return true;
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
