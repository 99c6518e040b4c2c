/**
 * Paging through ListObjectsV2 for the S3 driver, with requests ahead of the reader:
 *
 * - The next page is asked for as soon as a page arrives, before its rows are handed on.
 * - With a hint (keys an earlier listing saw, sorted), pages further ahead are asked for at
 *   once, each starting after the key its predecessor is expected to end with. A listing of
 *   100,000 unchanged objects then costs a few round trips in a row instead of a hundred.
 *
 * A page asked for ahead is used only when its predecessor ended exactly on the key it starts
 * after, with its keys in byte order (what makes StartAfter and the continuation token the same
 * request), and its own first key comes after that key. Otherwise it is dropped, and paging goes
 * on from the predecessor's own continuation token: a wrong or stale guess costs requests, never
 * entries.
 */
import type { ListObjectsV2CommandInput, ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { S3AccessError } from '../../../errors.ts';
import { compareKeys, isListed } from '../../keys.ts';
import type { ListEntry } from '../../types.ts';

export type ListPageRequest = Pick<
  ListObjectsV2CommandInput,
  'Bucket' | 'Prefix' | 'Delimiter' | 'StartAfter' | 'EncodingType'
> & {
  Bucket: string;
  Prefix: string;
};
export type SendListPage = (
  input: ListObjectsV2CommandInput,
  signal: AbortSignal,
) => Promise<ListObjectsV2CommandOutput>;

/** Keys S3 returns per ListObjectsV2 page (its MaxKeys limit). */
const PAGE_SIZE = 1000;
/** Pages in flight beyond the one being read, at most. */
const LOOKAHEAD = 4;

/** What an earlier listing saw: keys relative to `base`, in (ideally byte) order. */
export interface ListPageHint {
  keys: readonly string[] | Promise<readonly string[] | undefined>;
  /** What turns a hint key into a bucket key (the storage's own prefix inside the bucket). */
  base: string;
}

interface InFlight {
  /** Set for pages asked for ahead: the key the previous page must end on. */
  after?: string;
  page: Promise<ListObjectsV2CommandOutput>;
  controller: AbortController;
}

/**
 * The pages of `request`, in order. The hint is only used for recursive listings from the start;
 * when its keys are still a promise, the first page goes out without waiting for them.
 */
export async function* listObjectPages(
  send: SendListPage,
  request: ListPageRequest,
  hint: ListPageHint | undefined,
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
  const ahead: InFlight[] = [ask({})];
  let boundaries: string[] = [];
  let nextBoundary = 0;
  let firstPageRead = false;
  const askAhead = () => {
    while (ahead.length < LOOKAHEAD && nextBoundary < boundaries.length) {
      const after = boundaries[nextBoundary++] as string;
      ahead.push(ask({ StartAfter: after }, after));
    }
  };
  const dropAhead = () => {
    for (const pending of ahead.splice(0)) pending.controller.abort();
    nextBoundary = boundaries.length; // the guesses were wrong; no more of them
  };
  if (hint && !request.Delimiter && request.StartAfter === undefined) {
    const useHint = (keys: readonly string[] | undefined) => {
      // Keys that arrive after the first page was read come too late to ask ahead with.
      if (!keys || firstPageRead) return;
      boundaries = pageBoundaries(keys, hint.base, request.Prefix);
      askAhead();
    };
    if (Array.isArray(hint.keys)) useHint(hint.keys as readonly string[]);
    else Promise.resolve(hint.keys).then(useHint, () => {});
  }
  let previous: ListObjectsV2CommandOutput | undefined;
  try {
    while (ahead.length > 0) {
      const current = ahead.shift() as InFlight;
      let page: ListObjectsV2CommandOutput | undefined;
      if (current.after === undefined) {
        page = decodedPage(await current.page);
      } else {
        // Asked ahead: used only if it starts right after `after` (a server may ignore
        // StartAfter, or read it inclusively); a failure (no StartAfter support) counts as a miss.
        page = await current.page.then(
          (p) => {
            const decoded = decodedPage(p);
            return startsAfter(decoded, current.after as string) ? decoded : undefined;
          },
          () => undefined,
        );
        if (page === undefined) {
          // A page asked ahead always has a predecessor: the one whose last key it guessed.
          dropAhead();
          ahead.push(afterToken(tokenOf(previous as ListObjectsV2CommandOutput, request)));
          continue;
        }
      }
      firstPageRead = true;
      if (page.IsTruncated) {
        const token = tokenOf(page, request);
        if (ahead[0]?.after !== undefined && ahead[0].after === lastKeyInOrder(page)) askAhead();
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
    // The reader stopped early (its for-await calls return()) or a page failed: abort the rest.
    firstPageRead = true;
    for (const pending of ahead.splice(0)) pending.controller.abort();
  }
}

/**
 * The page with URL-encoded keys decoded, when the server says it encoded them (EncodingType url,
 * asked for so that keys XML cannot carry, control characters say, still list). S3 encodes like
 * an HTML form: `+` is a space, a literal `+` is `%2B`. Servers that ignore the request (s3rver)
 * send keys as they are, and say nothing.
 */
export function decodedPage(page: ListObjectsV2CommandOutput): ListObjectsV2CommandOutput {
  if (page.EncodingType !== 'url') return page;
  const decode = (value: string | undefined) => (value === undefined ? undefined : decodeKey(value));
  return {
    ...page,
    EncodingType: undefined,
    Prefix: decode(page.Prefix),
    Delimiter: decode(page.Delimiter),
    StartAfter: decode(page.StartAfter),
    Contents: page.Contents?.map((o) => ({ ...o, Key: decode(o.Key) })),
    CommonPrefixes: page.CommonPrefixes?.map((p) => ({ ...p, Prefix: decode(p.Prefix) })),
  };
}

function decodeKey(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    throw new S3AccessError(
      `Listing returned a key that is not URL-encoded as it said: ${JSON.stringify(value)}`,
      {
        context: { key: value },
      },
    );
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

/** The page starts after `after` (echoing it when the server echoes StartAfter at all). */
function startsAfter(page: ListObjectsV2CommandOutput, after: string): boolean {
  if (page.StartAfter !== undefined && page.StartAfter !== after) return false;
  const first = page.Contents?.[0]?.Key;
  return first === undefined ? !page.IsTruncated : compareKeys(first, after) > 0;
}

/** The page's last key, or undefined when its keys are not in byte order (or it has none). */
function lastKeyInOrder(page: ListObjectsV2CommandOutput): string | undefined {
  let last: string | undefined;
  for (const object of page.Contents ?? []) {
    if (object.Key === undefined) return undefined;
    if (last !== undefined && compareKeys(last, object.Key) >= 0) return undefined;
    last = object.Key;
  }
  return last;
}

/**
 * The bucket keys pages 1, 2, … are expected to end on: every PAGE_SIZE-th hint key under the
 * listed prefix. One pass, no copy of the hint: only the boundaries are built.
 */
function pageBoundaries(keys: readonly string[], base: string, prefix: string): string[] {
  const under = prefix.startsWith(base) ? prefix.slice(base.length) : undefined;
  if (under === undefined) return [];
  const boundaries: string[] = [];
  let count = 0;
  let lastUnder: string | undefined;
  for (const key of keys) {
    if (!key.startsWith(under)) continue;
    lastUnder = key;
    if (++count % PAGE_SIZE === 0) boundaries.push(base + key);
  }
  // A page ending on the last expected key is the last page: nothing to ask for after it.
  if (lastUnder !== undefined && boundaries.at(-1) === base + lastUnder) boundaries.pop();
  return boundaries;
}

/**
 * A listing page as entries; objects and common prefixes arrive in two arrays, merged back into
 * key order. `prefix` is the listing's (without the storage's base), which decides whether
 * sluice's own `_sluice/` entries show.
 */
export function pageRows(
  page: ListObjectsV2CommandOutput,
  strip: (key: string) => string,
  recursive: boolean,
  prefix = '',
): ListEntry[] {
  const rows: ListEntry[] = [];
  for (const o of page.Contents ?? []) {
    if (o.Key === undefined) continue;
    const key = strip(o.Key);
    // sluice's own, unless the prefix names it (keys.ts), as on local disk.
    if (!isListed(key, prefix)) continue;
    rows.push({
      type: 'object',
      key,
      size: Number(o.Size ?? 0),
      mtime: o.LastModified ?? new Date(0),
      etag: cleanEtag(o.ETag),
    });
  }
  for (const p of page.CommonPrefixes ?? []) {
    if (!p.Prefix) continue;
    const common = strip(p.Prefix);
    if (isListed(common, prefix)) rows.push({ type: 'prefix', prefix: common });
  }
  if (!recursive) rows.sort((a, b) => compareKeys(entryKey(a), entryKey(b)));
  return rows;
}

function entryKey(entry: ListEntry): string {
  return entry.type === 'object' ? entry.key : entry.prefix;
}

/** The etag without its surrounding quotes (by hand: this runs for every listed object). */
export function cleanEtag(etag: string | undefined): string {
  if (etag === undefined) return '';
  const start = etag.charCodeAt(0) === 34 /* " */ ? 1 : 0;
  const end = etag.length > start && etag.charCodeAt(etag.length - 1) === 34 ? etag.length - 1 : etag.length;
  return etag.slice(start, end);
}
