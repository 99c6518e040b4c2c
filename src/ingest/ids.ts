/**
 * Names that become path segments: source names, dataset ids and variable names. The seed
 * joined them into paths unchecked (`../../etc` escaped the base directory). Here a name is
 * rejected when it is empty, absolute, contains `..`/`.` segments, NUL, control characters or a
 * backslash; the one documented mapping is `/` (and `:` and whitespace) → `_`, so a hierarchical
 * id like `weather/daily` becomes the single segment `weather_daily`. What is left must be
 * `[A-Za-z0-9._-]`, start with a letter, digit or `_`, and be at most 128 characters.
 */
import { InvalidKeyError } from '../errors.ts';

export type IdKind = 'source name' | 'dataset id' | 'variable name';

const SAFE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
export const MAX_ID_LENGTH = 128;

function problemWith(id: unknown): string | undefined {
  if (typeof id !== 'string') return `it is not a string (got ${typeof id})`;
  if (id === '') return 'it is empty';
  if (id.includes('\0')) return 'it contains a NUL byte';
  if (id.includes('\\')) return 'it contains a backslash';
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'it contains a control character';
  if (id.startsWith('/')) return 'it is absolute (starts with /)';
  if (/^[a-zA-Z]:/.test(id)) return 'it looks like a Windows drive path';
  for (const segment of id.split('/')) {
    if (segment === '..' || segment === '.') return `it has a '${segment}' path segment (path traversal)`;
    if (segment === '') return 'it has an empty path segment';
  }
  if (id.includes('..')) return "it contains '..'";
  const mapped = mapId(id);
  if (mapped.length > MAX_ID_LENGTH) return `it is longer than ${MAX_ID_LENGTH} characters`;
  if (!SAFE.test(mapped)) {
    return 'it may contain only letters, digits, _ . - (and / : or spaces, mapped to _), starting with a letter, digit or _';
  }
  return undefined;
}

function mapId(id: string): string {
  return id.replace(/[/:\s]/g, '_');
}

/** The path segment for `id`, or InvalidKeyError (E010) naming the id and what is wrong. */
export function safeId(id: string, kind: IdKind = 'dataset id'): string {
  const problem = problemWith(id);
  if (problem) {
    throw new InvalidKeyError(`Invalid ${kind} ${JSON.stringify(id)}: ${problem}`, {
      context: { [kind.replace(' ', '_')]: id },
    });
  }
  return mapId(id);
}

export function isValidId(id: string): boolean {
  return problemWith(id) === undefined;
}
