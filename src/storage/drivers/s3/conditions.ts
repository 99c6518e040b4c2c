/**
 * How S3 speaks conditions, shared by put, get, copy and delete: the ETag as a header wants it,
 * and which answers mean "the condition did not hold" (412 Precondition Failed; 409
 * ConditionalRequestConflict while another conditional request on the key is under way).
 */

import { probedConditionalWrites } from './conditional-probe.ts';
import type { S3Context } from './context.ts';

type SdkError = { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };

/** An ETag as HTTP entity tags are sent: quoted (a weak or quoted one as it is). */
export function quoteEtag(tag: string): string {
  return tag.startsWith('"') || tag.startsWith('W/') ? tag : `"${tag}"`;
}

/** The server refused the request because its condition did not hold. */
export function refusedByCondition(error: unknown): boolean {
  const e = error as SdkError;
  const status = e.$metadata?.httpStatusCode;
  return (
    status === 412 ||
    e.name === 'PreconditionFailed' ||
    (status === 409 && e.name === 'ConditionalRequestConflict')
  );
}

/** A 404 / NoSuchKey answer: the object is not there. */
export function answeredMissing(error: unknown): boolean {
  const e = error as SdkError;
  return e.$metadata?.httpStatusCode === 404 || e.name === 'NoSuchKey';
}

/**
 * Whether a server-side condition can be trusted without a check of the answer: only once the
 * probe (conditional-probe.ts) found the endpoint honours conditional writes.
 */
export function serverHonoursConditions(ctx: S3Context): boolean {
  return probedConditionalWrites(ctx) === true;
}
