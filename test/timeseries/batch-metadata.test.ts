/**
 * buildBatch remembers each variable's last flat metadata across calls and compares each point's
 * object with it instead of encoding it again. What a point stores must still be exactly the JSON
 * (masked) of the object it brought, whatever the caller changed in between.
 */
import { describe, expect, it } from 'vitest';
import { InvalidPointError } from '../../src/errors.ts';
import { buildBatch, validateSinglePoint } from '../../src/timeseries/batch.ts';
import type { DataPointInput, Metadata } from '../../src/timeseries/types.ts';

/** The metadata JSON each point of a batch stores. */
function metaOf(points: DataPointInput[]): (string | undefined)[] {
  const b = buildBatch(points);
  return Array.from(b.metaIdx, (mi) => (mi === 0 ? undefined : b.metas[mi - 1]));
}

let t = 0;
const p = (variable: string, metadata?: Metadata | null): DataPointInput => ({
  variable,
  timestamp: ++t,
  value: 1,
  ...(metadata === undefined ? {} : { metadata }),
});

describe('metadata of a batch', () => {
  it('stores what the object holds when the caller changes it between batches', () => {
    const m: Record<string, unknown> = { unit: 'C', site: 'a' };
    expect(metaOf([p('m1', m)])).toEqual(['{"unit":"C","site":"a"}']);
    m.unit = 'F';
    expect(metaOf([p('m1', m), p('m1', m)])).toEqual(['{"unit":"F","site":"a"}', '{"unit":"F","site":"a"}']);
    m.extra = true;
    expect(metaOf([p('m1', m)])).toEqual(['{"unit":"F","site":"a","extra":true}']);
    delete m.extra;
    delete m.site;
    expect(metaOf([p('m1', m)])).toEqual(['{"unit":"F"}']);
  });

  it('tells apart key order, extra and missing keys, and values of other types', () => {
    expect(
      metaOf([
        p('m2', { a: 1, b: 2 }),
        p('m2', { b: 2, a: 1 }),
        p('m2', { a: 1 }),
        p('m2', { a: 1, b: 2, c: null }),
        p('m2', { a: '1', b: 2 }),
        p('m2', { a: 1, b: 2 }),
      ]),
    ).toEqual([
      '{"a":1,"b":2}',
      '{"b":2,"a":1}',
      '{"a":1}',
      '{"a":1,"b":2,"c":null}',
      '{"a":"1","b":2}',
      '{"a":1,"b":2}',
    ]);
  });

  it('lists equal metadata of several variables once, and nested metadata between flat ones', () => {
    const b = buildBatch([
      p('m3', { unit: 'C' }),
      p('m4', { unit: 'C' }),
      p('m3', { deep: { x: [1] } }),
      p('m3', { unit: 'C' }),
      p('m4', null),
    ]);
    expect(b.metas).toEqual(['{"unit":"C"}', '{"deep":{"x":[1]}}']);
    expect(Array.from(b.metaIdx)).toEqual([1, 1, 2, 1, 0]);
  });

  it('masks credentials every time, also when the object repeats', () => {
    const first = metaOf([p('m5', { user: 'u', password: 'hunter2' })]);
    const again = metaOf([
      p('m5', { user: 'u', password: 'hunter2' }),
      p('m5', { user: 'u', password: 'hunter2' }),
    ]);
    for (const json of [...first, ...again]) {
      expect(json).not.toContain('hunter2');
      expect(json).toContain('"user":"u"');
    }
  });

  it('stores each content exactly when a variable’s metadata flips back and forth', () => {
    const good = '{"unit":"C","quality":"good"}';
    const bad = '{"unit":"C","quality":"uncertain"}';
    const q = (quality: string) => p('m8', { unit: 'C', quality });
    expect(metaOf([q('good'), q('uncertain'), q('good'), q('good'), q('uncertain')])).toEqual([
      good,
      bad,
      good,
      good,
      bad,
    ]);
    expect(metaOf([q('good')])).toEqual([good]);
    // A third content, then the two before it: each compares with what it is, never a neighbour.
    expect(metaOf([q('stale'), q('uncertain'), q('good'), q('stale')])).toEqual([
      '{"unit":"C","quality":"stale"}',
      bad,
      good,
      '{"unit":"C","quality":"stale"}',
    ]);
    // The earlier content's object changed by the caller: its new content is what is stored.
    const m: Record<string, unknown> = { unit: 'C', quality: 'good' };
    expect(metaOf([p('m8', m), q('uncertain')])).toEqual([good, bad]);
    m.quality = 'uncertain';
    m.unit = 'K';
    expect(metaOf([p('m8', m), q('good'), p('m8', m)])).toEqual([
      '{"unit":"K","quality":"uncertain"}',
      good,
      '{"unit":"K","quality":"uncertain"}',
    ]);
    // Nested metadata in between keeps nothing stale either.
    expect(metaOf([q('good'), p('m8', { deep: { x: 1 } }), q('uncertain'), q('good')])).toEqual([
      good,
      '{"deep":{"x":1}}',
      bad,
      good,
    ]);
  });

  it('refuses invalid metadata after valid metadata of the same variable, naming the point', () => {
    metaOf([p('m6', { a: 1 })]);
    let error: unknown;
    try {
      buildBatch([p('m6', { a: 1 }), p('m6', { a: Number.NaN })]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidPointError);
    expect((error as Error).message).toMatch(
      /Point 1 \(variable "m6"\): metadata contains a non-finite number/,
    );
    // The refused batch left nothing behind: the next one compares with the last valid content.
    expect(metaOf([p('m6', { a: 1 })])).toEqual(['{"a":1}']);
  });

  it('single points share the cache: an object changed between calls stores its new content', () => {
    const m: Record<string, unknown> = { unit: 'C' };
    expect(validateSinglePoint('m7', 1, 1, m).metaJson).toBe('{"unit":"C"}');
    expect(metaOf([p('m7', { unit: 'C' })])).toEqual(['{"unit":"C"}']);
    m.unit = 'K';
    expect(validateSinglePoint('m7', 2, 1, m).metaJson).toBe('{"unit":"K"}');
    expect(validateSinglePoint('m7', 3, 1, { token: 'abc', unit: 'K' }).metaJson).not.toContain('abc');
    expect(() => validateSinglePoint('m7', 4, 1, { bad: Number.POSITIVE_INFINITY })).toThrow(
      InvalidPointError,
    );
    expect(() => validateSinglePoint('a/b', 5, 1, m)).toThrow(/path separator/);
  });

  it('names each point’s variable right when the order of variables changes between batches', () => {
    const names = (points: DataPointInput[]) => {
      const b = buildBatch(points);
      return Array.from(b.varIdx, (vi) => b.vars[vi]);
    };
    const first = ['o1', 'o2', 'o3', 'o1'].map((v) => p(v, { k: v }));
    expect(names(first)).toEqual(['o1', 'o2', 'o3', 'o1']);
    // The same positions, other variables (and a name the position held before, elsewhere).
    const second = ['o3', 'o1', 'o4', 'o2', 'o3'].map((v) => p(v, { k: v }));
    expect(names(second)).toEqual(['o3', 'o1', 'o4', 'o2', 'o3']);
    expect(buildBatch(second).vars).toEqual(['o3', 'o1', 'o4', 'o2']);
    expect(metaOf(second)).toEqual(['{"k":"o3"}', '{"k":"o1"}', '{"k":"o4"}', '{"k":"o2"}', '{"k":"o3"}']);
    // A bad name where a valid one stood in the last batch is still refused.
    expect(() => buildBatch([p('o3'), p('../o1')])).toThrow(/Point 1 .*variable/);
  });
});
