import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import { downstreamOf, findReferences, orderModels, parseModel } from '../../src/pipeline/models.ts';
import { duckdbType, parseSchema } from '../../src/pipeline/schema.ts';
import fc from '../helpers/fc.ts';

describe('schema types', () => {
  it('maps the seed types plus Boolean and Timestamp to DuckDB', () => {
    expect(
      ['String', 'Int', 'Decimal', 'Float64', 'Date', 'Boolean', 'Timestamp', 'Decimal(10,2)'].map((t) =>
        duckdbType(t),
      ),
    ).toEqual([
      'VARCHAR',
      'BIGINT',
      'DECIMAL(18,6)',
      'DOUBLE',
      'DATE',
      'BOOLEAN',
      'TIMESTAMP',
      'DECIMAL(10,2)',
    ]);
  });

  it('rejects unknown types with E003 naming the column', () => {
    expect(() => parseSchema({ year: 'Integer64' })).toThrowError(/column year/);
    try {
      parseSchema({ a: 'String', b: 'Nope' });
    } catch (error) {
      expect((error as SluiceError).code).toBe('E003');
    }
    expect(() => parseSchema({})).toThrowError(SluiceError);
    expect(parseSchema({ columns: { a: 'String' } })).toEqual({ a: 'String' });
  });
});

describe('models', () => {
  it('reads header comments and finds references outside comments and strings', () => {
    const m = parseModel(
      'm.sql',
      `-- name: combined\n-- description: Both\n-- staging.not_this\nSELECT 'landing.nope' AS x, * FROM landing.sdg JOIN staging.base USING (id) JOIN landing."un.sdg" USING (id);`,
    );
    expect(m.name).toBe('combined');
    expect(m.description).toBe('Both');
    expect(m.dependsOn).toEqual(['base']);
    expect(m.sources).toEqual(['sdg', 'un.sdg']);
    expect(findReferences('select * from STAGING . a').staging).toEqual(['a']);
  });

  it('orders by dependency and reports cycles and unknown models as E004', () => {
    const mk = (name: string, deps: string[]) => ({
      name,
      description: '',
      file: `${name}.sql`,
      sql: '',
      dependsOn: deps,
      sources: [],
    });
    expect(orderModels([mk('c', ['b']), mk('b', ['a']), mk('a', [])]).map((m) => m.name)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(() => orderModels([mk('a', ['b']), mk('b', ['a'])])).toThrowError(/cycle: a, b/);
    expect(() => orderModels([mk('a', ['zzz'])])).toThrowError(/no model zzz/);
    expect([...downstreamOf('a', [mk('a', []), mk('b', ['a']), mk('c', ['b']), mk('d', [])])]).toEqual([
      'b',
      'c',
    ]);
  });

  it('property: every model comes after all of its dependencies', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(20), { maxLength: 4 }), { minLength: 1, maxLength: 20 }),
        (deps) => {
          // Only edges to lower indices: always acyclic.
          const models = deps.map((d, i) => ({
            name: `m${i}`,
            description: '',
            file: '',
            sql: '',
            dependsOn: [...new Set(d.filter((j) => j < i).map((j) => `m${j}`))],
            sources: [],
          }));
          const order = orderModels([...models].reverse()).map((m) => m.name);
          expect(order).toHaveLength(models.length);
          for (const m of models)
            for (const dep of m.dependsOn) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(m.name));
        },
      ),
    );
  });
});
