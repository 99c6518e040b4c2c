import { describe, expect, it } from 'vitest';
import { writerFixture } from './fixture.ts';

describe('Parquet from rows whose types change midway', () => {
  const fx = writerFixture('writer-types');

  async function* rows() {
    for (let i = 0; i < 3000; i++) {
      const row: Record<string, unknown> = { i, n: i, s: i, t: new Date(Date.UTC(2026, 0, 1) + i * 1000) };
      if (i === 2500) row.n = 0.5; // integer column meets a float after the table exists
      if (i === 2600) row.s = 'text'; // number column meets a string
      if (i === 2700) row.t = 'not a date'; // timestamp column meets a string
      if (i >= 2800) row.late = true; // a column that appears late
      yield row;
    }
  }

  it('widens columns instead of corrupting values', async () => {
    const result = await fx.writer.writeDataframe(rows(), 'widened', { format: 'parquet' });
    expect(result.rows).toBe(3000);
    const types = Object.fromEntries(
      (
        await fx.engine.query<{ column_name: string; column_type: string }>(
          `DESCRIBE SELECT * FROM '${result.location}'`,
        )
      ).map((c) => [c.column_name, c.column_type]),
    );
    expect(types).toEqual({ i: 'BIGINT', n: 'DOUBLE', s: 'VARCHAR', t: 'VARCHAR', late: 'BOOLEAN' });
    const picked = await fx.engine.query(
      `SELECT i, n, s, t, late FROM '${result.location}' WHERE i IN (0, 2500, 2600, 2700, 2999) ORDER BY i`,
    );
    expect(picked).toEqual([
      { i: 0n, n: 0, s: '0', t: '2026-01-01T00:00:00.000Z', late: null },
      { i: 2500n, n: 0.5, s: '2500', t: '2026-01-01T00:41:40.000Z', late: null },
      { i: 2600n, n: 2600, s: 'text', t: '2026-01-01T00:43:20.000Z', late: null },
      { i: 2700n, n: 2700, s: '2700', t: 'not a date', late: null },
      { i: 2999n, n: 2999, s: '2999', t: '2026-01-01T00:49:59.000Z', late: true },
    ]);
  });

  it('honours an explicit schema and rejects values that do not fit', async () => {
    const result = await fx.writer.writeDataframe([{ a: 1, b: 'x' }], 'typed', {
      format: 'parquet',
      schema: { a: 'DOUBLE', b: 'VARCHAR' },
    });
    const [desc] = await fx.engine.query<{ column_type: string }>(
      `DESCRIBE SELECT a FROM '${result.location}'`,
    );
    expect(desc?.column_type).toBe('DOUBLE');
    const error = await fx.writer
      .writeDataframe([{ a: 'nope', b: 'x' }], 'typed2', {
        format: 'parquet',
        schema: { a: 'BIGINT', b: 'VARCHAR' },
      })
      .catch((e) => e);
    // A value its schema type cannot hold is a FormatError, which the writer passes through.
    expect(error).toMatchObject({ code: 'E021', context: { row: 0, column: 'a' } });
    expect(error.message).toMatch(/row 0, column "a": string value does not fit the schema type BIGINT/);
  });
});
