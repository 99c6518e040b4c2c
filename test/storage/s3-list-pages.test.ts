// Listing pages asked for ahead (expectedKeys) must never change what a listing returns: right
// guesses save round trips, wrong ones only cost requests. Against s3rver with the real SDK, and
// as a property over an exact model of ListObjectsV2 paging (sorted keys, 1,000 per page).
import {
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodedPage,
  type ListPageRequest,
  listObjectPages,
  pageRows,
  type SendListPage,
} from '../../src/storage/drivers/s3/list-pages.ts';
import { compareKeys } from '../../src/storage/keys.ts';
import fc from '../helpers/fc.ts';
import { freshBucket, type TestBucket } from '../helpers/s3.ts';

async function collect(pages: AsyncIterable<ListObjectsV2CommandOutput>): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of pages) for (const o of page.Contents ?? []) keys.push(o.Key as string);
  return keys;
}

/** Records each request's kind: 'first', 'token' or 'after:<key>'. */
function recording(send: SendListPage): { send: SendListPage; requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    send: (input, signal) => {
      requests.push(
        input.ContinuationToken
          ? 'token'
          : input.StartAfter !== undefined
            ? `after:${input.StartAfter}`
            : 'first',
      );
      return send(input, signal);
    },
  };
}

describe('listing pages ahead on s3rver', () => {
  let b: TestBucket;
  const keys = Array.from({ length: 2500 }, (_, i) => `p/k${String(i).padStart(5, '0')}`);
  const request = (): ListPageRequest => ({ Bucket: b.bucket, Prefix: 'p/' });
  const s3send: SendListPage = (input, abortSignal) =>
    b.client.send(new ListObjectsV2Command(input), { abortSignal });

  beforeAll(async () => {
    b = await freshBucket('pages');
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(
        keys
          .slice(i, i + 100)
          .map((Key) => b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key, Body: 'x' }))),
      );
    }
  }, 120_000);

  it('asks for every page at once when the expected keys are right', async () => {
    const r = recording(s3send);
    expect(await collect(listObjectPages(r.send, request(), { keys, base: '' }, undefined))).toEqual(keys);
    expect(r.requests).toEqual(['first', `after:${keys[999]}`, `after:${keys[1999]}`]);
  });

  it('sends the first page at once when the expected keys are still loading', async () => {
    const r = recording(s3send);
    const later = new Promise<string[]>((resolve) => setTimeout(() => resolve(keys), 20));
    const pages = listObjectPages(r.send, request(), { keys: later, base: '' }, undefined);
    const first = (await pages.next()).value as ListObjectsV2CommandOutput;
    expect(r.requests[0]).toBe('first');
    const firstKeys = (first.Contents ?? []).map((o) => o.Key as string);
    expect(firstKeys).toHaveLength(1000);
    expect([...firstKeys, ...(await collect(pages))]).toEqual(keys);
  });

  it('continues from the token when a guess is wrong (keys gone, keys added)', async () => {
    const stale = [...keys.slice(0, 500), ...keys.slice(510), 'p/k00500x'].sort(compareKeys);
    const r = recording(s3send);
    expect(await collect(listObjectPages(r.send, request(), { keys: stale, base: '' }, undefined))).toEqual(
      keys,
    );
    expect(r.requests[0]).toBe('first');
    expect(r.requests).toContain('token');
  });

  it('pages one after another without expected keys, and with unusable ones', async () => {
    for (const expected of [undefined, [], ['a', 'b'], ['zzz']]) {
      const r = recording(s3send);
      expect(
        await collect(
          listObjectPages(r.send, request(), expected && { keys: expected, base: '' }, undefined),
        ),
      ).toEqual(keys);
      expect(r.requests).toEqual(['first', 'token', 'token']);
    }
  });

  it('falls back to the token when a request asked ahead fails', async () => {
    const r = recording((input, signal) =>
      input.StartAfter !== undefined
        ? Promise.reject(new Error('StartAfter unsupported'))
        : s3send(input, signal),
    );
    expect(await collect(listObjectPages(r.send, request(), { keys, base: '' }, undefined))).toEqual(keys);
    expect(r.requests.filter((q) => q === 'token')).toHaveLength(2);
  });

  it('fails with the first page’s own error', async () => {
    const pages = listObjectPages(
      s3send,
      { Bucket: `${b.bucket}-missing`, Prefix: '' },
      { keys, base: '' },
      undefined,
    );
    await expect(collect(pages)).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('aborts requests still under way when the reader stops early', async () => {
    const signals: AbortSignal[] = [];
    const send: SendListPage = (input, signal) => {
      signals.push(signal);
      return s3send(input, signal);
    };
    for await (const page of listObjectPages(send, request(), { keys, base: '' }, undefined)) {
      expect(page.Contents).toHaveLength(1000);
      break;
    }
    expect(signals).toHaveLength(3);
    expect(signals.slice(1).every((s) => s.aborted)).toBe(true);
  });
});

/**
 * ListObjectsV2 over a sorted key array, as S3 pages it; `startAfter` says how the server treats
 * StartAfter: as S3 does, inclusively, or not at all (seen on some S3-compatible servers).
 */
function modelSend(
  all: string[],
  startAfter: 'exclusive' | 'inclusive' | 'ignored' = 'exclusive',
  encodeKeys = false,
): SendListPage {
  // EncodingType url, as S3 does it: form encoding (a space is `+`).
  const encode = (k: string) => (encodeKeys ? encodeURIComponent(k).replace(/%20/g, '+') : k);
  const sorted = [...new Set(all)].sort(compareKeys);
  return async (input: ListObjectsV2CommandInput) => {
    let start = 0;
    if (input.ContinuationToken !== undefined) start = Number(input.ContinuationToken);
    else if (input.StartAfter !== undefined && startAfter !== 'ignored') {
      const after = input.StartAfter;
      start = sorted.findIndex((k) =>
        startAfter === 'inclusive' ? compareKeys(k, after) >= 0 : compareKeys(k, after) > 0,
      );
      if (start < 0) start = sorted.length;
    }
    const contents = sorted.slice(start, start + 1000);
    const truncated = start + 1000 < sorted.length;
    return {
      $metadata: {},
      ...(encodeKeys ? { EncodingType: 'url' as const } : {}),
      ...(input.StartAfter !== undefined && !input.ContinuationToken
        ? { StartAfter: encode(input.StartAfter) }
        : {}),
      Contents: contents.map((Key) => ({ Key: encode(Key) })),
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: String(start + 1000) } : {}),
    };
  };
}

describe('rows of a page', () => {
  it("leave out sluice's folders (a local root's _sluice/ or .sluice-meta/ uploaded by another tool)", () => {
    const page = {
      $metadata: {},
      Contents: [
        { Key: 'base/_sluice/meta/a.csv.json' },
        { Key: 'base/a.csv' },
        { Key: 'base/d/.sluice-meta/x.json' },
        { Key: 'base/d/_sluice_not/x.json' },
        { Key: 'base/d/x.json' },
      ],
      CommonPrefixes: [{ Prefix: 'base/_sluice/' }, { Prefix: 'base/e/' }, { Prefix: 'base/e/_sluice/' }],
    };
    const rows = pageRows(page, (k) => k.slice('base/'.length), false);
    expect(rows.map((r) => (r.type === 'object' ? r.key : r.prefix))).toEqual([
      'a.csv',
      'd/_sluice_not/x.json',
      'd/x.json',
      'e/',
    ]);
    // A prefix that names the folder lists it, but never the fs driver's metadata in it.
    const named = {
      $metadata: {},
      Contents: [{ Key: 'base/_sluice/dev/manifest.json' }, { Key: 'base/_sluice/meta/a.csv.json' }],
      CommonPrefixes: [{ Prefix: 'base/_sluice/dev/' }, { Prefix: 'base/_sluice/meta/' }],
    };
    const shown = pageRows(named, (k) => k.slice('base/'.length), false, '_sluice/');
    expect(shown.map((r) => (r.type === 'object' ? r.key : r.prefix))).toEqual([
      '_sluice/dev/',
      '_sluice/dev/manifest.json',
    ]);
  });
});

describe('URL-encoded listings (EncodingType url)', () => {
  it('decodes keys, prefixes and the echoed StartAfter, form-style', () => {
    const page = decodedPage({
      $metadata: {},
      EncodingType: 'url',
      StartAfter: 'a+b',
      Contents: [{ Key: 'a%20b+c%2Bd%25e%0Af%E2%82%AC' }],
      CommonPrefixes: [{ Prefix: 'dir+x/' }],
    });
    expect(page.Contents?.[0]?.Key).toBe('a b c+d%e\nf€');
    expect(page.CommonPrefixes?.[0]?.Prefix).toBe('dir x/');
    expect(page.StartAfter).toBe('a b');
    // Unencoded pages (servers that ignore the request) are left as they are.
    const plain = { $metadata: {}, Contents: [{ Key: 'a+b%25' }] };
    expect(decodedPage(plain)).toBe(plain);
  });

  it('fails with a typed error naming a key that is not validly encoded', () => {
    expect(() => decodedPage({ $metadata: {}, EncodingType: 'url', Contents: [{ Key: 'bad%zz' }] })).toThrow(
      expect.objectContaining({ code: 'E002', message: expect.stringContaining('"bad%zz"') }),
    );
  });

  it('asks ahead and verifies pages with the decoded keys', async () => {
    const names = Array.from(
      { length: 2600 },
      (_, i) => `d ${i % 3}/k+${String(i).padStart(5, '0')}%\u0001é`,
    ).sort(compareKeys);
    const r = recording(modelSend(names, 'exclusive', true));
    const pages = listObjectPages(r.send, { Bucket: 'b', Prefix: '' }, { keys: names, base: '' });
    expect(await collect(pages)).toEqual(names);
    expect(r.requests.filter((q) => q === 'token')).toEqual([]);
  });
});

describe('listing pages ahead (property)', () => {
  it('returns exactly the listing, whatever keys are expected and however StartAfter is served', async () => {
    const key = fc.integer({ min: 0, max: 5000 }).map((n) => `k${String(n).padStart(4, '0')}`);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { minLength: 0, maxLength: 3500 }),
        fc.uniqueArray(key, { minLength: 0, maxLength: 3500 }),
        fc.boolean(),
        fc.constantFrom('exclusive', 'inclusive', 'ignored') as fc.Arbitrary<
          'exclusive' | 'inclusive' | 'ignored'
        >,
        fc.boolean(),
        fc.boolean(),
        async (actual, guessed, useActual, startAfter, late, encoded) => {
          const truth = [...actual].sort(compareKeys);
          // Half the runs expect a perturbed copy of the truth, the other half anything at all.
          const expected = (
            useActual ? [...truth.filter((_, i) => i % 97 !== 3), ...guessed.slice(0, 5)] : guessed
          )
            .filter((k, i, a) => a.indexOf(k) === i)
            .sort(compareKeys);
          const keys = late
            ? new Promise<string[]>((resolve) => setTimeout(() => resolve(expected), 1))
            : expected;
          const pages = listObjectPages(
            modelSend(truth, startAfter, encoded),
            { Bucket: 'b', Prefix: '' },
            { keys, base: '' },
          );
          expect(await collect(pages)).toEqual(truth);
        },
      ),
      { numRuns: 80 },
    );
  });
});
