/**
 * The encoder's fast paths give what the plain ones gave: the typed-view PLAIN writers the same
 * bytes as Buffer writes at any alignment, and DoubleIds the ids a Map keyed by value gives, with
 * -0 and 0 distinct and every NaN one entry.
 */

import { describe, expect, it } from 'vitest';
import { Bytes, DoubleIds, plainInt32, plainInt64 } from '../../src/timeseries/parquet/encodings.ts';
import fc from '../helpers/fc.ts';

/** The ids a Map gives (first-use order), -0 apart from 0, as the column encoder did before DoubleIds. */
function referenceIds(values: number[]): { ids: number[]; dict: number[] } {
  const index = new Map<number, number>();
  const dict: number[] = [];
  let negZero = -1;
  const ids = values.map((v) => {
    if (Object.is(v, -0)) {
      if (negZero < 0) negZero = dict.push(v) - 1;
      return negZero;
    }
    let id = index.get(v);
    if (id === undefined) {
      id = dict.push(v) - 1;
      index.set(v, id);
    }
    return id;
  });
  return { ids, dict };
}

describe('parquet encodings', () => {
  it('DoubleIds numbers values as a Map keyed by value does, -0 apart', () => {
    const value = fc.oneof(
      fc.constantFrom(0, -0, Number.NaN, 1, -1, Number.POSITIVE_INFINITY, 2 ** 53),
      fc.double(),
      fc.integer({ min: 0, max: 3000 }).map((i) => i / 100),
    );
    const ids = new DoubleIds();
    fc.assert(
      fc.property(fc.array(value, { maxLength: 5000 }), (values) => {
        ids.reset();
        const got = values.map((v) => ids.id(v));
        const want = referenceIds(values);
        expect(got).toEqual(want.ids);
        expect(ids.values).toEqual(want.dict);
      }),
      { numRuns: 200 },
    );
  });

  it('DoubleIds keeps its ids while it grows past thousands of distinct values', () => {
    const ids = new DoubleIds();
    ids.reset();
    const values = Array.from({ length: 70_000 }, (_, i) => (i % 2 ? -i : i) / 7);
    for (const [i, v] of values.entries()) expect(ids.id(v)).toBe(i);
    for (const [i, v] of values.entries()) expect(ids.id(v)).toBe(i);
    expect(ids.values.length).toBe(70_000);
  });

  it('PLAIN int64 and int32 write the same bytes at every alignment', () => {
    const micros = Float64Array.from([
      0,
      1,
      -1,
      2 ** 32,
      -(2 ** 32) - 5,
      2 ** 53 - 1,
      -(2 ** 53) + 1,
      1.7e15,
    ]);
    const small = Uint8Array.from([0, 1, 2, 3, 255, 7]);
    const want64 = Buffer.alloc(micros.length * 8);
    for (const [i, v] of micros.entries()) want64.writeBigInt64LE(BigInt(v), i * 8);
    const want32 = Buffer.alloc(small.length * 4);
    for (const [i, v] of small.entries()) want32.writeInt32LE(v, i * 4);
    for (let shift = 0; shift < 8; shift++) {
      const out = new Bytes(4096);
      for (let k = 0; k < shift; k++) out.byte(9);
      plainInt64(micros, 0, micros.length, out);
      expect(out.done().subarray(shift)).toEqual(want64);
      out.reset();
      for (let k = 0; k < shift; k++) out.byte(9);
      plainInt32(small, 1, small.length, out);
      expect(out.done().subarray(shift)).toEqual(want32.subarray(4));
    }
  });
});
