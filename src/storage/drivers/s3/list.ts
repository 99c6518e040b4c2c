/**
 * The S3 driver's list: ListObjectsV2 pages (list-pages.ts follows every continuation token,
 * asking ahead from expected keys) turned into entries under the storage's prefix; a failing
 * page throws, and a reader that stops early stops the pager.
 */
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { assertValidPrefix } from '../../keys.ts';
import type { ListEntry, ListOptions } from '../../types.ts';
import { clientFor } from './client.ts';
import { failS3, type S3Context } from './context.ts';
import { type ListPageRequest, listObjectPages, pageRows, type SendListPage } from './list-pages.ts';

export async function* listObjects(ctx: S3Context, opts: ListOptions = {}): AsyncIterable<ListEntry> {
  const prefix = ctx.base + assertValidPrefix(opts.prefix ?? '');
  const recursive = opts.recursive ?? true;
  const { sdk, client } = await clientFor(ctx.options);
  const send: SendListPage = (input, abortSignal) =>
    client.send(new sdk.ListObjectsV2Command(input), { abortSignal });
  const hint = opts.expectedKeys ? { keys: opts.expectedKeys, base: ctx.base } : undefined;
  const pages = listObjectPages(send, listRequest(ctx, prefix, recursive, opts), hint, opts.signal);
  const strip = (key: string) => key.slice(ctx.base.length);
  try {
    while (true) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      let next: IteratorResult<ListObjectsV2CommandOutput>;
      try {
        next = await pages.next();
      } catch (error) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        throw failS3(ctx, error, prefix, 'list');
      }
      if (next.done) return;
      yield* pageRows(next.value, strip, recursive, opts.prefix);
    }
  } finally {
    // A reader that stops early ends the pager too, so no request keeps running.
    await pages.return(undefined);
  }
}

/** The first page's request; `prefix` is the full one (base included). */
function listRequest(ctx: S3Context, prefix: string, recursive: boolean, opts: ListOptions): ListPageRequest {
  return {
    Bucket: ctx.bucket,
    Prefix: prefix,
    // Keys XML cannot carry (control characters) still list; decoded in list-pages.ts.
    EncodingType: 'url',
    ...(recursive ? {} : { Delimiter: '/' }),
    ...(opts.startAfter !== undefined ? { StartAfter: ctx.base + opts.startAfter } : {}),
  };
}
