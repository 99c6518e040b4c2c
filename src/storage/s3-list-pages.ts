/**
 * Paging through ListObjectsV2 for the S3 driver, with requests ahead of the reader:
 *
 * - The next page is asked for as soon as a page arrives, before its rows are handed on.
 * - With `expectedKeys` (keys an earlier listing saw, sorted), pages further ahead are asked for
 *   at once, each starting after the key its predecessor is expected to end with. A listing of
 *   100,000 unchanged objects then costs a few round trips instead of a hundred in a row.
 *
 * A page asked for ahead is used only when its predecessor ended exactly on the key it starts
 * after, with its keys in byte order (what makes StartAfter and the continuation token the same
 * request). Otherwise it is dropped, and paging goes on from the predecessor's own continuation
 * token: a wrong or stale guess costs requests, never entries.
 */
import type { ListObjectsV2CommandInput, ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { S3AccessError } from '../errors.ts';
import { compareKeys } from './keys.ts';

export type ListPageRequest = Pick<
  ListObjectsV2CommandInput,
  'Bucket' | 'Prefix' | 'Delimiter' | 'StartAfter'
> & {
  Bucket: string;
  Prefix: string;
};
export type SendListPage = (
  input: ListObjectsV2CommandInput,
  signal: AbortSignal,
) => Promise<ListObjectsV2CommandOutput>;

/** Pages S3 returns per ListObjectsV2 request (its MaxKeys limit). */
const PAGE_SIZE = 1000;
/** Pages asked for ahead of the one being read, at most. */
const LOOKAHEAD = 4;

interface InFlight {
  /** Set for pages asked for ahead: the key the previous page must end on. */
  after?: string;
  page: Promise<ListObjectsV2CommandOutput>;
  controller: AbortController;
}

/**
 * The pages of `request`, in order. `expectedKeys` are full keys (bucket prefix included),
 * sorted with compareKeys; they are only used for recursive listings from the start.
 */
export async function* listObjectPages(
  send: SendListPage,
  request: ListPageRequest,
  expectedKeys: readonly string[] | undefined,
  signal?: AbortSignal,
): AsyncGenerator<ListObjectsV2CommandOutput> {
  const ask = (extra: Partial<ListObjectsV2CommandInput>, after?: string): InFlight => {
    const controller = new AbortController();
    const stop = () => controller.abort(signal?.reason);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    const page = send({ ...request, ...extra }, controller.signal).finally(() =>
      signal?.removeEventListener('abort', stop),
    );
    // Dropped pages may fail unobserved; an adopted page's failure is awaited below.
    page.catch(() => {});
    return after === undefined ? { page, controller } : { after, page, controller };
  };
  // StartAfter only applies to the first page; later ones continue from the token.
  const afterToken = (token: string) => ask({ ContinuationToken: token, StartAfter: undefined });
  const speculative = !request.Delimiter && request.StartAfter === undefined && expectedKeys !== undefined;
  const boundaries = speculative ? pageBoundaries(expectedKeys, request.Prefix) : [];
  let nextBoundary = 0;
  const ahead: InFlight[] = [ask({})];
  const askAhead = () => {
    while (ahead.length <= LOOKAHEAD && nextBoundary < boundaries.length) {
      const after = boundaries[nextBoundary++] as string;
      ahead.push(ask({ StartAfter: after }, after));
    }
  };
  const dropAhead = () => {
    for (const pending of ahead.splice(0)) pending.controller.abort();
    nextBoundary = boundaries.length; // the guesses were wrong; no more of them
  };
  askAhead();
  let previous: ListObjectsV2CommandOutput | undefined;
  try {
    while (ahead.length > 0) {
      const current = ahead.shift() as InFlight;
      let page: ListObjectsV2CommandOutput;
      if (current.after === undefined) {
        page = await current.page;
      } else {
        // Asked ahead: a failure (a server without StartAfter, say) falls back to the token.
        const result = await current.page.then(
          (p) => p,
          () => undefined,
        );
        if (result === undefined) {
          dropAhead();
          ahead.push(afterToken(tokenOf(previous as ListObjectsV2CommandOutput, request)));
          continue;
        }
        page = result;
      }
      if (page.IsTruncated) {
        const token = tokenOf(page, request);
        const last = lastKeyInOrder(page);
        const next = ahead[0];
        if (next?.after !== undefined && next.after === last) askAhead();
        else {
          dropAhead();
          ahead.push(afterToken(token));
        }
      } else {
        dropAhead();
      }
      previous = page;
      yield page;
    }
  } finally {
    // The reader stopped early or a page failed: nothing keeps running behind its back.
    for (const pending of ahead.splice(0)) pending.controller.abort();
  }
}

function tokenOf(page: ListObjectsV2CommandOutput, request: ListPageRequest): string {
  if (!page.NextContinuationToken) {
    throw new S3AccessError(
      `Listing of s3://${request.Bucket}/${request.Prefix} was truncated without a continuation token`,
      { context: { bucket: request.Bucket, prefix: request.Prefix } },
    );
  }
  return page.NextContinuationToken;
}

/** The page's last key, or undefined when its keys are not in byte order (or it has none). */
function lastKeyInOrder(page: ListObjectsV2CommandOutput): string | undefined {
  const contents = page.Contents ?? [];
  let last: string | undefined;
  for (const object of contents) {
    if (object.Key === undefined) return undefined;
    if (last !== undefined && compareKeys(last, object.Key) >= 0) return undefined;
    last = object.Key;
  }
  return last;
}

/** The keys pages 1, 2, … are expected to end on: every PAGE_SIZE-th expected key under the prefix. */
function pageBoundaries(expectedKeys: readonly string[], prefix: string): string[] {
  const under = prefix === '' ? expectedKeys : expectedKeys.filter((k) => k.startsWith(prefix));
  const boundaries: string[] = [];
  for (let i = PAGE_SIZE - 1; i < under.length - 1; i += PAGE_SIZE) boundaries.push(under[i] as string);
  return boundaries;
}
