import { describe, expect, it } from 'vitest';
import { jsonReplacer, stringifyJson } from '../../src/formats/common.ts';
import fc from '../helpers/fc.ts';

describe('stringifyJson', () => {
  it('equals JSON.stringify with the BigInt replacer, with and without BigInts and indents', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withDate: true, withNullPrototype: true }),
        fc.constantFrom(undefined, 2),
        (value, indent) => {
          expect(stringifyJson(value, indent)).toBe(JSON.stringify(value, jsonReplacer, indent) ?? 'null');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('still throws on cycles', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => stringifyJson(a)).toThrow(TypeError);
  });
});
