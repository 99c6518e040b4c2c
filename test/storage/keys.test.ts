import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { assertValidKey, compareKeys, isValidKey } from '../../src/storage/keys.ts';
import { parseStorageUrl } from '../../src/storage/open.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('storage keys', () => {
  it('rejects traversal, absolute paths, NUL, backslashes and empty segments with E010', () => {
    for (const bad of [
      '..',
      '../x',
      'a/..',
      'a/../b',
      '/etc/passwd',
      'C:/x',
      'a\\..\\b',
      'a\0b',
      'a//b',
      '',
      './a',
      'a/',
    ]) {
      expect(() => assertValidKey(bad)).toThrow(SluiceError);
      try {
        assertValidKey(bad);
      } catch (e) {
        expect((e as SluiceError).code).toBe('E010');
      }
    }
    expect(assertValidKey('a/b.c/..d/...')).toBe('a/b.c/..d/...');
  });

  it('rejects unsafe prefixes inside s3:// URLs before any network call', () => {
    expect(() => parseStorageUrl('s3://bucket/a/../b')).toThrow(/'\.\.' segment/);
    expect(() => parseStorageUrl('s3://x/')).toThrow(/bucket name/);
    expect(parseStorageUrl('s3://my-bucket/raw/2024/?endpoint=http://127.0.0.1:9000')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'raw/2024/',
      endpoint: 'http://127.0.0.1:9000',
    });
    expect(parseStorageUrl('memory://x')).toEqual({ kind: 'memory', name: 'x' });
    expect(() => parseStorageUrl('ftp://x/y')).toThrow(/Unsupported/);
  });

  it('property: no generated key escapes the storage root, valid or not', async () => {
    const base = tempDir('sluice-keys');
    const root = path.join(base, 'root');
    mkdirSync(root);
    const storage = createFsStorage({ root, fsync: false });
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '', 'a', 'b', '..%2f', '....', '\\', '\0', '/', 'C:', '~'),
      fc.string({ maxLength: 6 }),
    );
    const key = fc
      .array(segment, { minLength: 1, maxLength: 5 })
      .map((s) => s.join(fc.sample(fc.constantFrom('/', '\\', '//'), 1)[0] ?? '/'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(key, fc.string({ maxLength: 20 })), async (k) => {
        try {
          await storage.put(k, 'x');
          expect(isValidKey(k)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(SluiceError);
        }
      }),
      { numRuns: 400 },
    );
    for (const file of walk(base)) expect(file.startsWith(root + path.sep), file).toBe(true);
  });
});

describe('compareKeys', () => {
  it('orders keys as S3 does, by UTF-8 bytes, for any Unicode (astral, U+E000–U+FFFF, ASCII)', () => {
    const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
    const key = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
    );
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(sign(compareKeys(a, b))).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      }),
      { numRuns: 2000 },
    );
    // The case UTF-16 order gets wrong: U+FF01 sorts before U+1F600 in bytes (EF… < F0…).
    expect(compareKeys('a\uff01', 'a\u{1f600}')).toBe(-1);
    expect(compareKeys('a/x', 'a-b')).toBe(1);
    expect(compareKeys('ab', 'ab')).toBe(0);
    expect(compareKeys('a', 'ab')).toBe(-1);
  });

  it('rejects keys with a lone surrogate (no UTF-8 form) with E010', () => {
    for (const key of ['a\ud800b', 'x/\udc00', 'end\ud83d']) {
      expect(() => assertValidKey(key)).toThrow(/not valid Unicode/);
    }
    expect(assertValidKey('emoji/\u{1f600}.json')).toBe('emoji/\u{1f600}.json');
  });
});
