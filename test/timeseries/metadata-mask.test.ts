/**
 * Flat metadata skips the masker when masking would leave it unchanged (validate.ts): the JSON it
 * stores must be exactly what masking the whole object gives, for every object.
 */

import { describe, expect, it } from 'vitest';
import { LOG_SENSITIVE_PARAMS, maskSensitiveData } from '../../src/secrets/mask.ts';
import { encodeMetadata } from '../../src/timeseries/validate.ts';
import fc from '../helpers/fc.ts';

const masked = (meta: object) => JSON.stringify(maskSensitiveData(meta, LOG_SENSITIVE_PARAMS));

const KEYS = [
  'unit',
  'source',
  'quality',
  'password',
  'token',
  'apiKey',
  'X-Api-Key',
  'key',
  'auth',
  '__proto__',
  '0',
];
const STRINGS = [
  '',
  'C',
  'sensor-7',
  'a=b',
  'x?token=abc',
  'https://user:pw@example.com/x',
  'git@example.com',
  'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
  'AKIAIOSFODNN7EXAMPLE',
  'Bearer abc.def.ghi',
];

const flatValue = fc.oneof(
  fc.constantFrom(...STRINGS),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const flatMeta = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), flatValue), {
    maxLength: 6,
  })
  .map((entries) => Object.fromEntries(entries));

describe('flat metadata and masking', () => {
  it('stores exactly what masking the object gives', () => {
    fc.assert(
      fc.property(flatMeta, (meta) => {
        expect(encodeMetadata(meta)).toBe(masked(meta));
      }),
      { numRuns: 2000 },
    );
  });

  it('masks a sensitive key whatever its value, and secrets inside other strings', () => {
    for (const meta of [
      { unit: 'C', password: false },
      { unit: 'C', token: 0 },
      { source: 'https://u:secret@host/p' },
      { note: 'x?api_key=secret' },
    ]) {
      const json = encodeMetadata(meta);
      expect(json).toBe(masked(meta));
      expect(json).not.toBe(JSON.stringify(meta));
    }
    // Nothing to mask: the object's own JSON.
    expect(encodeMetadata({ unit: 'C', source: 'sensor-1', quality: 'good', password: null })).toBe(
      '{"unit":"C","source":"sensor-1","quality":"good","password":null}',
    );
  });
});
