import { readdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import type { Manifest } from '../../src/timeseries/manifest.ts';
import { encodeVariableForKey } from '../../src/timeseries/segments.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The encoding before the `u` flag, kept to show which names changed key and to build old stores. */
function oldEncoding(variable: string): string {
  return variable.replace(/[^A-Za-z0-9_.-]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** Decodes a key segment; that it gives back every name proves the encoding injective. */
function decode(key: string): string {
  let out = '';
  const bytes: number[] = [];
  const flush = () => {
    // ignoreBOM keeps a leading U+FEFF: it is part of the name.
    out += new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
    bytes.length = 0;
  };
  for (let i = 0; i < key.length; ) {
    if (key[i] === '%' && key[i + 1] === 'u') {
      flush();
      out += String.fromCharCode(Number.parseInt(key.slice(i + 2, i + 6), 16));
      i += 6;
    } else if (key[i] === '%') {
      bytes.push(Number.parseInt(key.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      flush();
      out += key[i];
      i++;
    }
  }
  flush();
  return out;
}

/** Any UTF-16 string, lone surrogates included. */
const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) });

describe('encodeVariableForKey', () => {
  it('gives characters outside the BMP their own key', () => {
    expect(encodeVariableForKey('x😀')).toBe('x%F0%9F%98%80');
    expect(encodeVariableForKey('x😁')).toBe('x%F0%9F%98%81');
    expect(encodeVariableForKey('x\uFFFD\uFFFD')).toBe('x%EF%BF%BD%EF%BF%BD');
    expect(encodeVariableForKey('x\uD83D')).toBe('x%uD83D');
    expect(encodeVariableForKey('a%25')).toBe('a%2525');
    // All four collided before: each surrogate half became U+FFFD's bytes.
    for (const name of ['x😀', 'x😁', 'x\uFFFD\uFFFD']) expect(oldEncoding(name)).toBe('x%EF%BF%BD%EF%BF%BD');
  });

  it('property: distinct names (any code points) have distinct keys', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b);
        expect(encodeVariableForKey(a)).not.toBe(encodeVariableForKey(b));
      }),
      { numRuns: 5000 },
    );
    // Pairs that differ in one astral character, where random pairs would rarely land.
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.integer({ min: 0x10000, max: 0x10ffff }),
        fc.integer({ min: 0x10000, max: 0x10ffff }),
        (prefix, a, b) => {
          fc.pre(a !== b);
          const one = prefix + String.fromCodePoint(a);
          const two = prefix + String.fromCodePoint(b);
          expect(encodeVariableForKey(one)).not.toBe(encodeVariableForKey(two));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: every key decodes back to its name, also with lone surrogates, and is one safe segment', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), utf16), (name) => {
        const key = encodeVariableForKey(name);
        expect(key).toMatch(/^[A-Za-z0-9_.%-]*$/);
        expect(decode(key)).toBe(name);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: only names holding a surrogate code unit (all of which collided before) change key', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), utf16), (name) => {
        const surrogate = /[\uD800-\uDFFF]/.test(name);
        if (!surrogate) expect(encodeVariableForKey(name)).toBe(oldEncoding(name));
        else expect(oldEncoding(name)).toBe(oldEncoding(name.replace(/[\uD800-\uDFFF]/g, '\uFFFD')));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('time-series store with names outside the BMP', () => {
  const root = tempDir('ts-keys');
  let n = 0;
  const fresh = () => path.join(root, `s${++n}`);
  const open: TimeSeriesStore[] = [];
  const openStore = async (dir: string) => {
    const s = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
    open.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });
  const values = async (s: TimeSeriesStore, v: string) => {
    const out: unknown[] = [];
    for await (const p of s.query(v)) out.push(p.value);
    return out;
  };

  it('keeps x😀 and x😁 in separate segment folders', async () => {
    const dir = fresh();
    const store = await openStore(dir);
    await store.storeDataPoint('x😀', '2024-01-01T00:00:00Z', 1);
    await store.storeDataPoint('x😁', '2024-01-01T00:00:00Z', 2);
    await store.compact();
    expect(readdirSync(path.join(dir, 'segments')).sort()).toEqual([
      'var=x%F0%9F%98%80',
      'var=x%F0%9F%98%81',
    ]);
    expect(await values(store, 'x😀')).toEqual([1]);
    expect(await values(store, 'x😁')).toEqual([2]);
  });

  it('opens a store whose segments were written under the old key, and rewrites them under the new one', async () => {
    const dir = fresh();
    const store = await openStore(dir);
    await store.storeDataPoint('x😀', '2024-01-01T00:00:00Z', 1);
    await store.storeDataPoint('x😁', '2024-01-01T00:00:01Z', 2);
    await store.compact();
    await store.close();
    // Move the segments where the old encoding put them: both variables in one folder.
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await fsp.readFile(manifestFile, 'utf8')) as Manifest;
    for (const entry of manifest.segments) {
      const old = entry.key.replace(
        `var=${encodeVariableForKey(entry.variable)}`,
        `var=${oldEncoding(entry.variable)}`,
      );
      await fsp.mkdir(path.dirname(path.join(dir, old)), { recursive: true });
      await fsp.rename(path.join(dir, entry.key), path.join(dir, old));
      entry.key = old;
    }
    await fsp.writeFile(manifestFile, JSON.stringify(manifest));
    await fsp.rm(path.join(dir, 'segments', 'var=x%F0%9F%98%80'), { recursive: true });
    await fsp.rm(path.join(dir, 'segments', 'var=x%F0%9F%98%81'), { recursive: true });
    expect(readdirSync(path.join(dir, 'segments'))).toEqual(['var=x%EF%BF%BD%EF%BF%BD']);

    const reopened = await openStore(dir);
    expect(await values(reopened, 'x😀')).toEqual([1]);
    expect(await values(reopened, 'x😁')).toEqual([2]);
    // A point among the segment's (here: replacing its one point) rewrites it under the new key.
    await reopened.storeDataPoint('x😀', '2024-01-01T00:00:00Z', 3);
    await reopened.compact();
    expect(await values(reopened, 'x😀')).toEqual([3]);
    expect(await values(reopened, 'x😁')).toEqual([2]);
    const after = JSON.parse(await fsp.readFile(manifestFile, 'utf8')) as Manifest;
    const keyOf = (v: string) => after.segments.find((s) => s.variable === v)?.key ?? '';
    expect(keyOf('x😀')).toMatch(/^segments\/var=x%F0%9F%98%80\//);
    expect(keyOf('x😁')).toMatch(/^segments\/var=x%EF%BF%BD%EF%BF%BD\//);
  });

  it('refuses a name with a lone surrogate (E051) instead of storing U+FFFD', async () => {
    const store = await openStore(fresh());
    const error = await store.storeDataPoint('x\uD83D', '2024-01-01T00:00:00Z', 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E051' });
    expect((error as Error).message).toMatch(/lone surrogate/);
  });
});
