import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { dataPointLine } from '../../src/ingest/index.ts';
import { LineBuffer } from '../../src/ingest/line-buffer.ts';
import { maskSensitiveData } from '../../src/secrets/mask.ts';
import fc from '../helpers/fc.ts';

/** The definition dataPointLine must match byte for byte. */
function reference(ms: number, value: unknown, metadata?: unknown): string {
  const record: Record<string, unknown> = { timestamp: new Date(ms).toISOString(), value };
  if (metadata !== undefined) record.metadata = maskSensitiveData(metadata);
  return `${JSON.stringify(record)}\n`;
}

const key = fc.oneof(
  fc.constantFrom('sensor', 'unit', 'site', 'api_key', 'apiKey', 'X-Api-Key', 'token', 'next_page_token'),
  fc.constantFrom(
    'Authorization',
    'cookie',
    'password',
    'sort_key',
    'session',
    'sessionId',
    '1',
    '__proto__',
  ),
  fc.string({ maxLength: 12 }),
);
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('a1', '', 'Bearer abcdefgh12345', 'https://u:pw@host/x', 'https://h/p?api_key=s3cret&a=1'),
  fc.constantFrom('Token abcdefghijk', 'k=v', 'user@example.com', '\u2603 snow', '\ud800'),
);
const primitive = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
const nested = fc.oneof(
  fc.array(primitive, { maxLength: 4 }),
  fc.tuple(fc.constantFrom('authorization', 'Cookie', 'x'), text),
  fc.dictionary(key, primitive, { maxKeys: 3 }),
);
const metadata = fc.dictionary(key, fc.oneof({ weight: 4, arbitrary: primitive }, nested), { maxKeys: 5 });

describe('dataPointLine metadata', () => {
  it('equals JSON.stringify of the record with masked metadata, point after point', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(metadata, fc.nat({ max: 2 })), { minLength: 1, maxLength: 12 }),
        (steps) => {
          // Repeat some metadata (the cached path), sometimes as the same object mutated in place.
          let previous: Record<string, unknown> | undefined;
          for (const [meta, how] of steps) {
            let m: Record<string, unknown> = meta;
            if (how === 1 && previous) m = { ...previous };
            if (how === 2 && previous) {
              m = previous;
              for (const k of Object.keys(meta)) m[k] = meta[k];
            }
            for (let i = 0; i < 2; i++) {
              expect(dataPointLine({ timestamp: 1_700_000_000_000 + i, value: i, metadata: m })).toBe(
                reference(1_700_000_000_000 + i, i, m),
              );
            }
            previous = m;
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('masks what the old shortcut let through: auth schemes in text and header tuples', () => {
    const flat = dataPointLine({ timestamp: 0, value: 1, metadata: { note: 'Bearer abcdefgh12345' } });
    expect(flat).toContain('Bearer ********');
    const tuple = dataPointLine({ timestamp: 0, value: 1, metadata: { h: [['authorization', 'xyz123']] } });
    expect(tuple).not.toContain('xyz123');
  });

  it('never reuses the cached JSON of an object mutated since', () => {
    const meta: Record<string, unknown> = { sensor: 'a1', n: 1 };
    expect(dataPointLine({ timestamp: 0, value: 1, metadata: meta })).toContain('"sensor":"a1","n":1');
    meta.sensor = 'b2';
    expect(dataPointLine({ timestamp: 0, value: 1, metadata: meta })).toContain('"sensor":"b2","n":1');
    meta.api_key = 'PLANTED';
    const masked = dataPointLine({ timestamp: 0, value: 1, metadata: meta });
    expect(masked).not.toContain('PLANTED');
    delete meta.api_key;
    delete meta.n;
    expect(dataPointLine({ timestamp: 0, value: 1, metadata: meta })).toContain(
      '"metadata":{"sensor":"b2"}}',
    );
  });

  it('serialises non-plain metadata as masking does', () => {
    class Tagged {
      sensor = 'a1';
      toJSON() {
        return { other: true };
      }
    }
    const inherited = Object.create({ inheritedKey: 'x' }) as Record<string, unknown>;
    inherited.own = 1;
    const bare = Object.create(null) as Record<string, unknown>;
    bare.sensor = 'a1';
    const withToJson = { sensor: 'a1', toJSON: () => 'x' };
    for (const m of [
      new Tagged(),
      inherited,
      bare,
      withToJson,
      { d: new Date(0) },
      { u: undefined, s: 'a' },
    ]) {
      expect(dataPointLine({ timestamp: 0, value: 1, metadata: m as Record<string, unknown> })).toBe(
        reference(0, 1, m),
      );
    }
  });

  it('still rejects bad values with a typed error', () => {
    expect(() => dataPointLine({ timestamp: 0, value: Number.NaN, metadata: { sensor: 'a1' } })).toThrow(
      ValidationError,
    );
    expect(() => dataPointLine({ timestamp: 'not a time', value: 1 })).toThrow(ValidationError);
  });
});

describe('LineBuffer', () => {
  it('holds exactly the UTF-8 of the lines pushed, in order, across joins and chunks', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('x'.repeat(70_000), '\u2603'.repeat(30_000), '\ud800'),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(line, fc.boolean()), { maxLength: 600 }), (items) => {
        const out = new LineBuffer();
        let expected = '';
        let lines = 0;
        for (const [text, takeNow] of items) {
          out.push(`${text}\n`);
          expected += `${text}\n`;
          lines++;
          if (takeNow && lines % 7 === 0) {
            const { chunks, size, count } = out.take();
            expect(Buffer.concat(chunks).equals(Buffer.from(expected))).toBe(true);
            expect(size).toBe(Buffer.byteLength(expected));
            expect(count).toBe(lines);
            expected = '';
            lines = 0;
          }
        }
        const { chunks, size, count } = out.take();
        expect(Buffer.concat(chunks).equals(Buffer.from(expected))).toBe(true);
        expect([size, count]).toEqual([Buffer.byteLength(expected), lines]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('dataPointLine fast path', () => {
  it('equals the general path for any epoch ms, Date, finite number and metadata', () => {
    const timestamp = fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms)),
      fc.constantFrom(-0, 253402300800000, -62167219200001),
    );
    const value = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer());
    fc.assert(
      fc.property(timestamp, value, fc.option(metadata, { nil: undefined }), (ts, v, m) => {
        const ms = ts instanceof Date ? ts.getTime() : ts;
        expect(dataPointLine({ timestamp: ts, value: v, ...(m ? { metadata: m } : {}) })).toBe(
          reference(ms, v, m),
        );
      }),
      { numRuns: 3000 },
    );
  });
});
