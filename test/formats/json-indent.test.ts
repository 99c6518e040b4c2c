import { describe, expect, it } from 'vitest';
import { indentJson } from '../../src/formats/json-indent.ts';
import fc from '../helpers/fc.ts';

describe('indentJson', () => {
  it('lays out compact JSON as JSON.stringify(value, null, indent) does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 4 }), (value, indent) => {
        expect(indentJson(JSON.stringify(value), indent)).toBe(JSON.stringify(value, null, indent));
      }),
      { numRuns: 500 },
    );
  });

  it('copies numbers and strings as they are (no parse, no rounding)', () => {
    expect(indentJson('{"n":12345678901234567890.123,"s":"a,b:{c}[\\"]"}', 2)).toBe(
      '{\n  "n": 12345678901234567890.123,\n  "s": "a,b:{c}[\\"]"\n}',
    );
  });
});
