import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../../src/errors.ts';
import { isValidId, safeId } from '../../src/ingest/index.ts';
import { isValidKey } from '../../src/storage/keys.ts';
import fc from '../helpers/fc.ts';

const segment = fc.string({
  unit: fc.constantFrom('a', 'B', '7', '_', '-', '.'),
  minLength: 1,
  maxLength: 6,
});

describe('ids', () => {
  it('rejects traversal, absolute paths, NUL, backslashes and control characters anywhere', () => {
    const bad = fc.oneof(
      fc
        .tuple(fc.array(segment, { maxLength: 3 }), fc.array(segment, { maxLength: 3 }))
        .map(([a, b]) => [...a, '..', ...b].join('/')),
      segment.map((s) => `/${s}`),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}\0${b}`),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}\\${b}`),
      fc
        .tuple(fc.string(), fc.integer({ min: 1, max: 31 }), fc.string())
        .map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b}`),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}..${b}`),
    );
    fc.assert(
      fc.property(bad, (id) => {
        expect(() => safeId(id)).toThrow(InvalidKeyError);
        try {
          safeId(id, 'variable name');
        } catch (error) {
          expect((error as { code: string }).code).toBe('E010');
          expect((error as Error).message).toContain('Invalid variable name');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('maps every accepted id to one safe key segment', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (id) => {
        if (!isValidId(id)) {
          expect(() => safeId(id)).toThrow(InvalidKeyError);
          return;
        }
        const seg = safeId(id);
        expect(seg).not.toContain('/');
        expect(seg).not.toContain('..');
        expect(isValidKey(`base/${seg}/${seg}_x.json`)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts the documented mapping and names the kind in errors', () => {
    expect(safeId('weather/daily')).toBe('weather_daily');
    expect(safeId('ab:c d')).toBe('ab_c_d');
    expect(safeId('ok-1.v2')).toBe('ok-1.v2');
    expect(() => safeId('-x'.repeat(100))).toThrow(/longer than 128|may contain only/);
    expect(() => safeId('.hidden', 'source name')).toThrow(/Invalid source name/);
  });
});
