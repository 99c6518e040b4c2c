import fc from 'fast-check';
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
      { numRuns: 200 },
    );
  });

  it('json round-trips arbitrary string rows at any chunking, pretty and compact', async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.integer({ min: 1, max: 64 }), fc.boolean(), async (input, size, pretty) => {
        const chunks = await rechunk(jsonWriter.encode(input, { pretty }), size);
        expect(await collect(jsonReader.decode(chunks))).toEqual(input);
      }),
      { numRuns: 200 },
    );
  });

  it('csv round-trips arbitrary strings (header = union of keys, missing cells empty)', async () => {
    await fc.assert(
      fc.asyncProperty(rows, fc.integer({ min: 1, max: 64 }), async (input, size) => {
        const chunks = await rechunk(csvWriter.encode(input), size);
        const back = await collect(csvReader.decode(chunks));
        const columns = [...new Set(input.flatMap((r) => Object.keys(r)))];
        const expected: Row[] =
          columns.length === 0
            ? []
            : input.map((r) => Object.fromEntries(columns.map((c) => [c, Object.hasOwn(r, c) ? r[c] : ''])));
        expect(back).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
