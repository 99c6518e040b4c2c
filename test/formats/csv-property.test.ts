/**
 * Random damage to valid CSV: the strict reader either refuses it with E021 (never another error,
 * a hang or a crash) or reads exactly what an independent parser (csv-parse, RFC 4180 mode)
 * reads from the same bytes.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import { csvReader } from '../../src/formats/csv.ts';
import type { Row } from '../../src/formats/types.ts';
import fc from '../helpers/fc.ts';

const cell = fc.string({
  unit: fc.constantFrom('a', 'b', '1', ' ', ',', '"', '\n', '\r', 'é', '🚀'),
  maxLength: 6,
});
const table = fc
  .tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 5 }))
  .chain(([width, height]) =>
    fc.record({
      header: fc.uniqueArray(
        fc.string({ unit: fc.constantFrom('x', 'y', 'z', 'w'), minLength: 1, maxLength: 3 }),
        {
          minLength: width,
          maxLength: width,
        },
      ),
      rows: fc.array(fc.array(cell, { minLength: width, maxLength: width }), {
        minLength: height,
        maxLength: height,
      }),
    }),
  );

const quote = (v: string) => (/[",\r\n]/.test(v) || v === '' ? `"${v.replaceAll('"', '""')}"` : v);
const encode = (t: { header: string[]; rows: string[][] }) =>
  `${[t.header, ...t.rows].map((r) => r.map(quote).join(',')).join('\n')}\n`;

// One damage at one place: delete, insert or replace a byte.
const damage = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'insert', 'replace'),
  byte: fc.constantFrom(0x22, 0x2c, 0x0a, 0x0d, 0x61, 0xff, 0xc3, 0x00),
});

function damaged(text: string, d: { at: number; kind: string; byte: number }): Buffer {
  const bytes = Buffer.from(text);
  const at = d.at % (bytes.length + 1);
  const b = Buffer.from([d.byte]);
  if (d.kind === 'insert') return Buffer.concat([bytes.subarray(0, at), b, bytes.subarray(at)]);
  if (d.kind === 'delete') return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
  return Buffer.concat([bytes.subarray(0, at), b, bytes.subarray(at + 1)]);
}

async function readStrict(bytes: Buffer, size: number): Promise<Row[] | SluiceError> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  try {
    const rows: Row[] = [];
    for await (const row of csvReader.decode(chunks, { source: 'prop.csv' })) rows.push(row);
    return rows;
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
}

describe('strict CSV reader under random damage', () => {
  it('valid tables read back exactly, in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(table, fc.integer({ min: 1, max: 16 }), async (t, size) => {
        const back = await readStrict(Buffer.from(encode(t)), size);
        expect(back).toEqual(t.rows.map((r) => Object.fromEntries(t.header.map((h, i) => [h, r[i]]))));
      }),
      { numRuns: Number(process.env.PROP_RUNS ?? 300) },
    );
  });

  it('damaged tables are refused with E021 or read as csv-parse reads them', async () => {
    await fc.assert(
      fc.asyncProperty(table, damage, fc.integer({ min: 1, max: 16 }), async (t, d, size) => {
        const bytes = damaged(encode(t), d);
        const result = await readStrict(bytes, size);
        if (result instanceof SluiceError) {
          expect(result.code).toBe('E021');
          expect(result.message).toMatch(/^CSV prop\.csv line \d+: /);
          return;
        }
        // Accepted: the bytes are valid UTF-8 CSV, and an RFC 4180 parser sees the same rows.
        const reference = parse(bytes, {
          columns: true,
          bom: true,
          skip_empty_lines: true,
          record_delimiter: ['\r\n', '\n'],
        }) as Row[];
        expect(result).toEqual(reference);
      }),
      { numRuns: Number(process.env.PROP_RUNS ?? 500) },
    );
  });
});
