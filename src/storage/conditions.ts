/**
 * What every driver shares about conditional puts (`ifNotExists`, `ifMatch`): the check that a
 * put asks for one condition at most, and the error a failed `ifMatch` raises, worded alike.
 */
import { PreconditionFailedError, type SluiceError, ValidationError } from '../errors.ts';
import type { PutOptions } from './types.ts';

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
 * The failure of an `ifMatch` put: `where` names the object (a path or an s3:// URL), `actual`
 * its ETag now (undefined: gone, or unknown when the server only said 412).
 */
export function preconditionFailed(
  where: string,
  key: string,
  expected: string,
  actual: string | undefined | null,
  cause?: unknown,
): SluiceError {
  const now = actual === null ? 'is gone' : actual === undefined ? 'has changed' : `is at ETag ${actual}`;
  return new PreconditionFailedError(
    `${where} ${now}, not at ETag ${expected} as the write required: another writer changed it first`,
    { context: { key, expected, ...(actual ? { actual } : {}) }, ...(cause === undefined ? {} : { cause }) },
  );
}
