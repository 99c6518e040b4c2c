/**
 * What every driver shares about conditional operations (`ifNotExists`, `ifMatch` on put; `ifMatch`
 * on get, copy, delete, move): the checks of the options, and the errors a failed condition
 * raises, worded alike.
 */
import { PreconditionFailedError, type SluiceError, StorageError, ValidationError } from '../errors.ts';
import type { DeleteTarget, PutOptions } from './types.ts';

/** Throws ValidationError when a put asks for both conditions (no driver can send both). */
export function assertOneCondition(key: string, opts: PutOptions): void {
  if (opts.ifNotExists && opts.ifMatch !== undefined)
    throw new ValidationError(
      `Put of ${key}: options ifNotExists and ifMatch (${JSON.stringify(opts.ifMatch)}) exclude each other`,
      { context: { key } },
    );
  if (opts.ifMatch !== undefined && (typeof opts.ifMatch !== 'string' || opts.ifMatch === ''))
    throw new ValidationError(
      `Put of ${key}: option ifMatch must be a non-empty ETag, got ${JSON.stringify(opts.ifMatch)}`,
      {
        context: { key },
      },
    );
}

/**
 * The failure of an `ifMatch` operation: `where` names the object (a path or an s3:// URL),
 * `actual` its ETag now (null: gone; undefined: unknown, when the server only said 412).
 */
export function preconditionFailed(
  where: string,
  key: string,
  expected: string,
  actual: string | undefined | null,
  cause?: unknown,
  operation = 'write',
): SluiceError {
  const now = actual === null ? 'is gone' : actual === undefined ? 'has changed' : `is at ETag ${actual}`;
  return new PreconditionFailedError(
    `${where} ${now}, not at ETag ${expected} as the ${operation} required: another writer changed it first`,
    { context: { key, expected, ...(actual ? { actual } : {}) }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** Throws ValidationError unless an `ifMatch` given to `operation` of `key` is a non-empty ETag. */
export function assertIfMatch(operation: string, key: string, ifMatch: string | undefined): void {
  if (ifMatch !== undefined && (typeof ifMatch !== 'string' || ifMatch === ''))
    throw new ValidationError(
      `${operation} of ${key}: option ifMatch must be a non-empty ETag, got ${JSON.stringify(ifMatch)}`,
      { context: { key } },
    );
}

/** A `deleteMany` key as a target, its `ifMatch` checked. */
export function deleteTargetOf(target: string | DeleteTarget): DeleteTarget {
  const t = typeof target === 'string' ? { key: target } : target;
  assertIfMatch('Delete', t.key, t.ifMatch);
  return t;
}

/** One key a `deleteMany` did not delete: `refused` by its `ifMatch`, or failed for `reason`. */
export interface DeleteFailure {
  key: string;
  refused: boolean;
  reason: string;
}

/** The keys a `deleteMany` left, as the caller named them (read with `keysNotDeleted`). */
export interface KeysNotDeleted {
  failed: string[];
  /** Those of `failed` refused by their `ifMatch`: that key holds another version. */
  refused: string[];
}

// Beside the error's context, which is masked for logs (a key that reads like a secret would be
// starred there): code reads the keys from here.
const NOT_DELETED = Symbol('sluice.storage.keysNotDeleted');

/** Which keys a failed `deleteMany` left; undefined when the error says nothing per key. */
export function keysNotDeleted(error: unknown): KeysNotDeleted | undefined {
  return (error as { [NOT_DELETED]?: KeysNotDeleted } | undefined)?.[NOT_DELETED];
}

/**
 * Names the keys of a failed `deleteMany` anew for code (a scoped view strips its prefix); the
 * message and context keep naming them as the storage that failed did.
 */
export function renameKeysNotDeleted(error: unknown, rename: (key: string) => string): void {
  const keys = keysNotDeleted(error);
  if (!keys) return;
  keys.failed = keys.failed.map(rename);
  keys.refused = keys.refused.map(rename);
}

/**
 * The failure of a `deleteMany` (`where` names the storage) whose `failures` were not deleted, the
 * other keys being gone: E015 when every one was refused by its `ifMatch`, else StorageError. The
 * keys, as the caller named them, are in its context and in `keysNotDeleted(error)`.
 */
export function deleteManyFailure(
  where: string,
  failures: readonly DeleteFailure[],
  total: number,
): SluiceError {
  const first = failures[0];
  const failedKeys = failures.map((f) => f.key);
  const refusedKeys = failures.filter((f) => f.refused).map((f) => f.key);
  const context = { failedKeys, refusedKeys };
  const error =
    refusedKeys.length === failures.length
      ? new PreconditionFailedError(
          `${failures.length} of ${total} objects in ${where} were not deleted: each is at another ETag than the delete required (another writer replaced it), first: ${first?.key}`,
          { context },
        )
      : new StorageError(
          `Could not delete ${failures.length} of ${total} objects in ${where}, first: ${first?.key} (${first?.reason})`,
          { context },
        );
  Object.defineProperty(error, NOT_DELETED, { value: { failed: failedKeys, refused: refusedKeys } });
  return error;
}
