import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import type { Storage } from '../../src/storage/types.ts';
import { conditionalPutConformance } from './conditional-conformance.ts';

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(SluiceError);
  expect((error as SluiceError).code).toBe(code);
}

/** The behaviour every Storage driver must share. */
export interface ConformanceOptions {
  /**
   * s3rver lists in its on-disk walk order, which differs from S3's byte order when a key has a
   * character below '/' (such as '-' or '.') right where another key has a '/'. Real S3 and the
   * other drivers sort by bytes; on s3rver those keys are left out of the order assertions.
   */
  walkOrderListing?: boolean;
}

export function storageConformance(
  name: string,
  open: () => Promise<Storage>,
  options: ConformanceOptions = {},
) {
  describe(`Storage conformance: ${name}`, () => {
    let storage: Storage;
    beforeAll(async () => {
      storage = await open();
    });
    afterAll(async () => {
      await storage.close();
    });

    it('puts and gets bytes, strings and streams', async () => {
      await storage.put('a/bytes.bin', Buffer.from([0, 1, 2, 255]));
      await storage.put('a/text.txt', 'héllo');
      await storage.put('a/stream.txt', Readable.from([Buffer.from('one,'), Buffer.from('two')]));
      expect([...(await storage.get('a/bytes.bin'))]).toEqual([0, 1, 2, 255]);
      expect((await storage.get('a/text.txt')).toString()).toBe('héllo');
      expect((await storage.get('a/stream.txt')).toString()).toBe('one,two');
      expect((await readAll(await storage.getStream('a/text.txt'))).toString()).toBe('héllo');
    });

    it('keeps what a put was given: the caller changing or freeing its buffer after changes nothing stored', async () => {
      // A time-series writer frees a segment file's bytes once put (timeseries/parquet/release.ts).
      const given = Buffer.alloc(100_000, 7);
      await storage.put('a/given.bin', given);
      given.fill(9);
      (given.buffer as ArrayBuffer).transfer(0);
      expect(given.length).toBe(0);
      const back = await storage.get('a/given.bin');
      expect(back.length).toBe(100_000);
      expect(back.every((b) => b === 7)).toBe(true);
    });

    it('reads byte ranges', async () => {
      await storage.put('range.txt', '0123456789');
      expect(
        (await readAll(await storage.getStream('range.txt', { range: { start: 2, end: 5 } }))).toString(),
      ).toBe('2345');
    });

    it('round-trips content type and user metadata through stat, copy and move', async () => {
      await storage.put('meta/x.json', '{}', {
        contentType: 'application/json',
        metadata: { Sha256: 'abc', source: 'unit' },
      });
      const info = await storage.stat('meta/x.json');
      expect(info.size).toBe(2);
      expect(info.contentType).toBe('application/json');
      expect(info.metadata).toEqual({ sha256: 'abc', source: 'unit' });
      expect(info.etag).not.toBe('');
      await storage.copy('meta/x.json', 'meta/copy.json');
      expect((await storage.stat('meta/copy.json')).metadata).toEqual({ sha256: 'abc', source: 'unit' });
      await storage.copy('meta/x.json', 'meta/replaced.json', { metadata: { other: '1' } });
      expect((await storage.stat('meta/replaced.json')).metadata).toEqual({ other: '1' });
      await storage.move('meta/copy.json', 'meta/moved/y.json');
      expect(await storage.exists('meta/copy.json')).toBe(false);
      expect((await storage.stat('meta/moved/y.json')).metadata).toEqual({ sha256: 'abc', source: 'unit' });
      expect((await storage.get('meta/moved/y.json')).toString()).toBe('{}');
    });

    it('replaces metadata when an object is overwritten', async () => {
      await storage.put('over.txt', 'v1', { metadata: { v: '1' } });
      await storage.put('over.txt', 'v2');
      const info = await storage.stat('over.txt');
      expect(info.metadata).toEqual({});
      expect((await storage.get('over.txt')).toString()).toBe('v2');
    });

    it('changes the etag when content changes', async () => {
      await storage.put('etag.txt', 'one');
      const before = (await storage.stat('etag.txt')).etag;
      await storage.put('etag.txt', 'two!');
      expect((await storage.stat('etag.txt')).etag).not.toBe(before);
    });

    it('reports missing objects with NotFoundError (E011) and exists() false', async () => {
      await expectCode(storage.get('nope/missing.txt'), 'E011');
      await expectCode(storage.stat('nope/missing.txt'), 'E011');
      await expectCode(storage.getStream('nope/missing.txt').then(readAll), 'E011');
      expect(await storage.exists('nope/missing.txt')).toBe(false);
    });

    it('deletes idempotently, one or many', async () => {
      await storage.put('del/1', '1');
      await storage.put('del/2', '2');
      await storage.put('del/3', '3');
      await storage.delete('del/1');
      await storage.delete('del/1');
      await storage.deleteMany(['del/2', 'del/3', 'del/never']);
      expect(await listKeys(storage, { prefix: 'del/' })).toEqual([]);
    });

    it('lists in byte order, recursively or one level at a time', async () => {
      const tricky = options.walkOrderListing ? [] : ['l/a-b', 'l/a.txt'];
      const keys = ['l/a/x', 'l/a/y/z', 'l/b', 'l/é', 'l/Z', ...tricky];
      for (const k of keys) await storage.put(k, k);
      const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(await listKeys(storage, { prefix: 'l/' })).toEqual(sorted);
      expect(await listKeys(storage, { prefix: 'l/', recursive: false })).toEqual([
        'l/Z',
        ...tricky,
        'l/a/',
        'l/b',
        'l/é',
      ]);
      expect(await listKeys(storage, { prefix: 'l/a' })).toEqual([...tricky, 'l/a/x', 'l/a/y/z']);
      expect(await listKeys(storage, { prefix: 'l/', startAfter: 'l/a/x' })).toEqual([
        'l/a/y/z',
        'l/b',
        'l/é',
      ]);
      const entries = [];
      for await (const e of storage.list({ prefix: 'l/b' })) entries.push(e);
      expect(entries).toMatchObject([{ type: 'object', key: 'l/b', size: 3 }]);
    });

    it('lists keys with XML-special, URL-special and non-ASCII characters exactly', async () => {
      const names = ['a&b', '<tag>', '"q"', "it's", 'lit&amp;', 'tab\there', 'sp ace', 'plus+%25', 'ü€😀'];
      const keys = names.map((n) => `xml/${n}.txt`);
      for (const k of keys) await storage.put(k, k);
      const listed = new Map<string, number>();
      for await (const e of storage.list({ prefix: 'xml/' }))
        if (e.type === 'object') listed.set(e.key, e.size);
      expect([...listed.keys()].sort()).toEqual([...keys].sort());
      for (const k of keys) expect(listed.get(k)).toBe(Buffer.byteLength(k));
    });

    it('lists more than one page (1,100 keys) completely', async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => storage.put(k, 'x')));
      }
      expect(await listKeys(storage, { prefix: 'many/' })).toEqual(keys);
    });

    it('rejects unsafe keys with InvalidKeyError (E010) before any I/O', async () => {
      for (const bad of [
        '../evil',
        'a/../../evil',
        '/abs',
        'a//b',
        'a\\b',
        'nul\0x',
        '',
        'a/./b',
        'trailing/',
        '.sluice-meta/x',
        '_sluice/meta/x.json',
        'a/_sluice/meta/x',
        '_sluice',
        'a/_sluice',
      ]) {
        await expectCode(storage.put(bad, 'x'), 'E010');
        await expectCode(storage.get(bad), 'E010');
      }
      expect(await listKeys(storage, { prefix: 'evil' })).toEqual([]);
    });

    it("keeps sluice's _sluice/ folder out of listings unless the prefix names it", async () => {
      const view = storage.scope('sluice-dirs');
      await view.put('data/x.csv', 'x');
      await view.put('_sluice/dev/manifest.json', '{}', { metadata: { sha256: 'm' } });
      await view.put('inner/_sluice/dev/runs/1.json', '{}');
      expect(await listKeys(view)).toEqual(['data/x.csv']);
      expect(await listKeys(view, { prefix: '_slu' })).toEqual([]);
      expect(await listKeys(view, { prefix: '_sluice/' })).toEqual(['_sluice/dev/manifest.json']);
      expect(await listKeys(view, { prefix: '_sluice/dev/man' })).toEqual(['_sluice/dev/manifest.json']);
      expect(await listKeys(view, { prefix: 'inner/_sluice/' })).toEqual(['inner/_sluice/dev/runs/1.json']);
      expect(await listKeys(view.scope('_sluice/dev'))).toEqual(['manifest.json']);
      expect((await view.stat('_sluice/dev/manifest.json')).metadata).toEqual({ sha256: 'm' });
      await expectCode(view.put('_sluice/meta/x.json', '{}'), 'E010');
      await expectCode(view.put('_sluice', '{}'), 'E010');
    });

    it('scopes a view under a prefix that cannot reach outside', async () => {
      const scoped = storage.scope('scoped/inner');
      await scoped.put('k.txt', 'v');
      expect((await storage.get('scoped/inner/k.txt')).toString()).toBe('v');
      expect(await listKeys(scoped)).toEqual(['k.txt']);
      expect((await scoped.stat('k.txt')).key).toBe('k.txt');
      await expectCode(scoped.put('../escape.txt', 'x'), 'E010');
    });

    it('handles a 20 MB streamed body byte for byte', async () => {
      const big = Buffer.alloc(20 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
      const chunks = function* () {
        for (let i = 0; i < big.length; i += 1024 * 1024) yield big.subarray(i, i + 1024 * 1024);
      };
      let progress = 0;
      const result = await storage.put('big/streamed.bin', Readable.from(chunks()), {
        onProgress: (n) => (progress = n),
      });
      expect(result.size).toBe(big.length);
      expect(progress).toBe(big.length);
      const back = await storage.get('big/streamed.bin');
      expect(back.length).toBe(big.length);
      expect(back.equals(big)).toBe(true);
      expect((await storage.stat('big/streamed.bin')).size).toBe(big.length);
    });

    it('keeps the old object when a streamed put fails midway', async () => {
      await storage.put('fail/obj.txt', 'old');
      async function* broken() {
        yield Buffer.from('new-part');
        throw new Error('source broke');
      }
      await expect(storage.put('fail/obj.txt', broken())).rejects.toThrow();
      expect((await storage.get('fail/obj.txt')).toString()).toBe('old');
      expect(await listKeys(storage, { prefix: 'fail/' })).toEqual(['fail/obj.txt']);
    });

    if (name !== 's3') {
      it('creates only if absent when asked (ifNotExists)', async () => {
        await storage.put('once.txt', 'first', { ifNotExists: true });
        await expectCode(storage.put('once.txt', 'second', { ifNotExists: true }), 'E013');
        expect((await storage.get('once.txt')).toString()).toBe('first');
      });
    }

    conditionalPutConformance(() => storage);
  });
}
