import { describe, expect, it } from 'vitest';
import {
  csvReader,
  csvWriter,
  jsonlReader,
  jsonlWriter,
  jsonReader,
  jsonWriter,
} from '../../src/formats/index.ts';
import type { Row } from '../../src/formats/types.ts';
import { parseJson, parseJsonSlow } from '../../src/util/json-parse.ts';
import fc from '../helpers/fc.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Re-chunks bytes at arbitrary points, so decoders see splits inside quotes and UTF-8 sequences. */
async function rechunk(chunks: AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array[]> {
  const all = Buffer.concat((await collect(chunks)).map((c) => Buffer.from(c)));
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size));
  return out;
}

// Strings full of CSV/JSON trouble: quotes, commas, CR/LF, tabs, unicode (incl. astral), BOM.
const nasty = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', ' ', '\t', 'a', 'é', '🚀', '\uFEFF', '\\', ';') }),
);
const key = fc.oneof(nasty, fc.constantFrom('a', 'b', 'c')).filter((k) => k !== '__proto__');
const rows = fc.array(fc.dictionary(key, nasty, { maxKeys: 4 }), { minLength: 1, maxLength: 20 });

describe('round-trip properties', () => {
  it('jsonl round-trips arbitrary string rows at any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.integer({ min: 1, max: 64 }), async (input, size) => {
        const chunks = await rechunk(jsonlWriter.encode(input), size);
        expect(await collect(jsonlReader.decode(chunks))).toEqual(input);
      }),
      {
        numRuns: Number(process.env.PROP_RUNS ?? 200),
        ...(process.env.PROP_SEED ? { seed: Number(process.env.PROP_SEED) } : {}),
      },
    );
  });

  it('json round-trips arbitrary string rows at any chunking, pretty and compact', async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.integer({ min: 1, max: 64 }), fc.boolean(), async (input, size, pretty) => {
        const chunks = await rechunk(jsonWriter.encode(input, { pretty }), size);
        expect(await collect(jsonReader.decode(chunks))).toEqual(input);
      }),
      {
        numRuns: Number(process.env.PROP_RUNS ?? 200),
        ...(process.env.PROP_SEED ? { seed: Number(process.env.PROP_SEED) } : {}),
      },
    );
  });

  it('csv round-trips arbitrary strings (header = union of keys, missing cells empty)', async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.integer({ min: 1, max: 64 }), async (input, size) => {
        const columns = [...new Set(input.flatMap((r) => Object.keys(r)))];
        if (columns.includes('')) {
          // A column without a name could not be read back: the writer refuses it.
          await expect(rechunk(csvWriter.encode(input), size)).rejects.toMatchObject({ code: 'E021' });
          return;
        }
        const chunks = await rechunk(csvWriter.encode(input), size);
        if (columns.length === 0) {
          // Rows without a single key make a file with no header: the strict reader refuses it.
          await expect(collect(csvReader.decode(chunks))).rejects.toMatchObject({ code: 'E021' });
          return;
        }
        const back = await collect(csvReader.decode(chunks));
        const expected: Row[] = input.map((r) =>
          Object.fromEntries(columns.map((c) => [c, Object.hasOwn(r, c) ? r[c] : ''])),
        );
        expect(back).toEqual(expected);
      }),
      {
        numRuns: Number(process.env.PROP_RUNS ?? 200),
        ...(process.env.PROP_SEED ? { seed: Number(process.env.PROP_SEED) } : {}),
      },
    );
  });
});

describe('parseJson (V8 JSON.parse escaped-key workaround)', () => {
  it('returns the right escaped keys where JSON.parse on this Node may not', () => {
    const first = String.raw`{"x":1,"\\":1}`;
    const second = String.raw`{"x":1,"\n":1}`;
    parseJson(first);
    parseJson(first);
    expect(Object.keys(parseJson(second) as object)).toEqual(['x', '\n']);
    expect(Object.keys(parseJson(String.raw`{"x":1,"\u0042":1}`) as object)).toEqual(['x', 'B']);
  });

  it('the fallback parser agrees with JSON.stringify for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(parseJsonSlow(text)).toEqual(JSON.parse(text));
        expect(parseJsonSlow(JSON.stringify(value, null, 2))).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
    expect(Object.hasOwn(parseJsonSlow('{"__proto__":{"a":1}}') as object, '__proto__')).toBe(true);
    for (const bad of ['', '{', '{"a" 1}', '[1,]', '"\\x"', '01', 'nul', '{"a":1}x', '"a\nb"']) {
      expect(() => parseJsonSlow(bad), bad).toThrow(SyntaxError);
    }
  });
});
