import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataframeFormat } from '../../src/writer/types.ts';
import fc from '../helpers/fc.ts';
import { writerFixture } from './fixture.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_53_PLUS_1 = 2n ** 53n + 1n;

/** The code a refusal carries (the writer passes E021 through; anything wrapped in E040 would show here). */
function refusalCode(error: unknown): unknown {
  return (error as { code?: string }).code;
}

describe('writer numbers keep their exact value or the write fails (E021)', () => {
  const fx = writerFixture('writer-exact');
  let n = 0;
  const fresh = () => `t${n++}`;

  /**
   * The writer's routes for rows: Parquet and partitioned output load them into a typed DuckDB
   * table (row-loader.ts); csv/json/jsonl files are encoded by the format layer.
   */
  interface Route {
    label: string;
    format: DataframeFormat;
    partitioned: boolean;
  }
  const PARQUET: Route = { label: 'parquet', format: 'parquet', partitioned: false };
  const TYPED: Route[] = [
    { label: 'parquet', format: 'parquet', partitioned: false },
    { label: 'parquet, partitioned', format: 'parquet', partitioned: true },
    { label: 'csv, partitioned', format: 'csv', partitioned: true },
  ];
  const TEXT: Route[] = (['csv', 'json', 'jsonl'] as const).map((format) => ({
    label: format,
    format,
    partitioned: false,
  }));

  async function write(rows: Record<string, unknown>[], route: Route, schema?: Record<string, string>) {
    const name = fresh();
    const outcome = await fx.writer
      .writeDataframe(route.partitioned ? rows.map((r) => ({ ...r, p: 'x' })) : rows, name, {
        format: route.format,
        ...(route.partitioned ? { partitionBy: 'p' } : {}),
        ...(schema ? { schema: { ...schema, ...(route.partitioned ? { p: 'VARCHAR' } : {}) } } : {}),
      })
      .catch((e: unknown) => e);
    const output = path.join(fx.dir, 'output', route.partitioned ? name : `${name}.${route.format}`);
    return { outcome, output };
  }

  /** Column `a` read back by DuckDB as text (as DuckDB types it, or as written with `asText`). */
  async function readBack(output: string, route: Route, asText = false): Promise<(string | null)[]> {
    const files = route.partitioned ? `${output}/**/*.${route.format}` : output;
    const typed = asText ? ", columns={'a': 'VARCHAR'}" : '';
    const hive = route.partitioned ? ', hive_partitioning=true' : '';
    const reader = { parquet: 'read_parquet', csv: 'read_csv', json: 'read_json', jsonl: 'read_json' }[
      route.format
    ];
    const rows = await fx.engine.query<{ v: string | null }>(
      `SELECT a::VARCHAR AS v FROM ${reader}('${files}'${hive}${route.format === 'parquet' ? '' : typed})`,
    );
    return rows.map((r) => r.v);
  }

  const EXTREMES: [unknown[], string[]][] = [
    [
      [INT64_MIN, INT64_MAX, TWO_53_PLUS_1, 0n],
      ['-9223372036854775808', '9223372036854775807', '9007199254740993', '0'],
    ],
    [
      [1, -0, 2],
      ['1.0', '-0.0', '2.0'],
    ],
    [[-0], ['-0.0']],
    [
      [0.1, 1, 2 ** 53],
      ['0.1', '1.0', '9007199254740992.0'],
    ],
  ];

  for (const route of [...TYPED, ...TEXT]) {
    it(`${route.label}: int64 extremes, 2^53+1, -0 and 0.1 read back exactly with DuckDB`, async () => {
      for (const [values, expected] of EXTREMES) {
        const { outcome, output } = await write(
          values.map((a) => ({ a })),
          route,
        );
        expect(outcome).toMatchObject({ rows: values.length });
        expect(await readBack(output, route)).toEqual(expected);
      }
    });
  }

  const MIXED: [string, Record<string, unknown>[]][] = [
    ['integer first', [{ a: TWO_53_PLUS_1 }, { a: 0.5 }]],
    ['fraction first', [{ a: 0.5 }, { a: TWO_53_PLUS_1 }]],
    ['-0 after the integer', [{ a: TWO_53_PLUS_1 }, { a: -0 }]],
    // After 1,000 rows the table exists and widening is an ALTER: the same rule holds.
    ['late', [...Array.from({ length: 1500 }, (_, i) => ({ a: i })), { a: TWO_53_PLUS_1 }, { a: 0.5 }]],
    [
      'late, fraction first',
      [...Array.from({ length: 1500 }, (_, i) => ({ a: i / 2 })), { a: TWO_53_PLUS_1 }],
    ],
  ];

  for (const route of TYPED) {
    it(`${route.label}: a column mixing an integer beyond 2^53 with a fraction is refused, in either order, and nothing is written`, async () => {
      for (const [label, rows] of MIXED) {
        const { outcome, output } = await write(rows, route);
        expect(refusalCode(outcome), label).toBe('E021');
        const message = (outcome as Error).message;
        expect(message, label).toContain('column "a"');
        expect(message, label).toContain('9007199254740993');
        expect(message, label).toMatch(/row \d+/);
        expect(message, label).toMatch(/VARCHAR/);
        expect(existsSync(output), label).toBe(false);
      }
    });
  }

  for (const route of TEXT) {
    it(`${route.label}: a mixed column is written with every digit (text has no column type to round to)`, async () => {
      const { outcome, output } = await write(
        [{ a: TWO_53_PLUS_1 }, { a: 0.5 }, { a: -0 }, { a: INT64_MIN }],
        route,
      );
      expect(outcome).toMatchObject({ rows: 4 });
      expect(await readBack(output, route, true)).toEqual([
        '9007199254740993',
        '0.5',
        '-0.0',
        '-9223372036854775808',
      ]);
    });
  }

  it('names the row of the refused value and the row of the value it clashes with', async () => {
    const error = await fx.writer
      .writeDataframe([{ a: 1 }, { a: TWO_53_PLUS_1 }, { a: 2 }, { a: 0.25 }], fresh(), { format: 'parquet' })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /row 3, column "a": 0\.25 would make this integer column DOUBLE, which rounds its integer 9007199254740993 \(row 1\) to 9007199254740992/,
    );
    const reverse = await fx.writer
      .writeDataframe([{ a: 0.25 }, { a: 1 }, { a: -TWO_53_PLUS_1 }], fresh(), { format: 'parquet' })
      .catch((e: unknown) => e);
    expect((reverse as Error).message).toMatch(
      /row 2, column "a": the integer -9007199254740993 cannot be stored exactly in this DOUBLE column \(it became DOUBLE at row 0 for 0\.25\): it would become -9007199254740992/,
    );
  });

  for (const route of TYPED) {
    it(`${route.label}: 0 and -0 in one column survive DuckDB's Parquet dictionary`, async () => {
      // Enough repeats that DuckDB picks a dictionary, which files 0 and -0 as one value.
      const zeros = [-0, 0, 0n, -0, 0, 0.5, -0];
      const { outcome, output } = await write(
        [...Array.from({ length: 1500 }, () => 7), ...zeros].map((a) => ({ a })),
        route,
      );
      expect(outcome).toMatchObject({ rows: 1507 });
      expect((await readBack(output, route)).slice(1500)).toEqual([
        '-0.0',
        '0.0',
        '0.0',
        '-0.0',
        '0.0',
        '0.5',
        '-0.0',
      ]);
    });
  }

  it('refuses a bigint outside BIGINT instead of failing inside DuckDB', async () => {
    const error = await fx.writer
      .writeDataframe([{ a: 1n }, { a: 2n ** 63n }], fresh(), { format: 'parquet' })
      .catch((e: unknown) => e);
    expect(refusalCode(error)).toBe('E021');
    expect((error as Error).message).toMatch(
      /row 1, column "a": the integer 9223372036854775808 is outside BIGINT's range/,
    );
  });

  it('strings beside big integers still widen to VARCHAR with every digit kept', async () => {
    const { output } = await write([{ a: TWO_53_PLUS_1 }, { a: 'text' }, { a: -0 }], PARQUET);
    expect(await readBack(output, PARQUET)).toEqual(['9007199254740993', 'text', '-0']);
  });

  describe('an explicit schema refuses what its type cannot hold exactly', () => {
    const refused: [string, Record<string, string>, unknown, RegExp][] = [
      [
        'DOUBLE + 2^53+1',
        { a: 'DOUBLE' },
        TWO_53_PLUS_1,
        /9007199254740993 does not fit the schema type DOUBLE exactly \(it would become 9007199254740992\)/,
      ],
      [
        'BIGINT + 0.5',
        { a: 'BIGINT' },
        0.5,
        /0\.5 does not fit the schema type BIGINT: it is not an integer/,
      ],
      [
        'BIGINT + -0',
        { a: 'BIGINT' },
        -0,
        /-0 does not fit the schema type BIGINT: an integer type has no -0/,
      ],
      ['BIGINT + 1e20', { a: 'BIGINT' }, 1e20, /does not fit the schema type BIGINT/],
      ['BIGINT + 2^63', { a: 'BIGINT' }, 2n ** 63n, /outside BIGINT's range/],
      [
        'DECIMAL(18, 2) + 0.125',
        { a: 'DECIMAL(18, 2)' },
        0.125,
        /3 digits after the point, the type keeps 2/,
      ],
      ['DECIMAL(4, 0) + 12345', { a: 'DECIMAL(4,0)' }, 12345n, /5 digits before the point, the type keeps 4/],
      ['DECIMAL + NaN', { a: 'DECIMAL(10, 2)' }, Number.NaN, /NaN has no DECIMAL form/],
    ];
    for (const [label, schema, value, pattern] of refused) {
      it(label, async () => {
        const name = fresh();
        const error = await fx.writer
          .writeDataframe([{ a: 1 }, { a: value }], name, { format: 'parquet', schema })
          .catch((e: unknown) => e);
        expect(refusalCode(error)).toBe('E021');
        expect((error as Error).message).toMatch(/row 1, column "a"/);
        expect((error as Error).message).toMatch(pattern);
        expect(existsSync(path.join(fx.dir, 'output', `${name}.parquet`))).toBe(false);
      });
    }

    it('VARCHAR and DECIMAL(38, s) hold big integers beside fractions exactly', async () => {
      const rows = [{ a: TWO_53_PLUS_1 }, { a: 0.5 }, { a: INT64_MAX }, { a: 1e-7 }];
      const text = await write(rows, PARQUET, { a: 'VARCHAR' });
      expect(await readBack(text.output, PARQUET)).toEqual([
        '9007199254740993',
        '0.5',
        '9223372036854775807',
        '1e-7',
      ]);
      const decimal = await write(rows, PARQUET, { a: 'DECIMAL(38, 7)' });
      expect(await readBack(decimal.output, PARQUET)).toEqual([
        '9007199254740993.0000000',
        '0.5000000',
        '9223372036854775807.0000000',
        '0.0000001',
      ]);
      const [type] = await fx.engine.query<{ t: string }>(
        `SELECT typeof(a) AS t FROM '${decimal.output}' LIMIT 1`,
      );
      expect(type?.t).toBe('DECIMAL(38,7)');
    });
  });

  it('property: a mixed column is written with every value exact, or refused exactly when DOUBLE would round', async () => {
    const value = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
      fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }),
      fc.constantFrom(-0, 0.5, 0.1, 2 ** 53, -(2 ** 53), 1e20, Number.NaN, Number.POSITIVE_INFINITY),
      fc.double(),
      fc.constant(null),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (values, late) => {
          // `late` pushes the values past the first 1,000 rows, so widening happens by ALTER TABLE.
          const all: unknown[] = late ? [...Array.from({ length: 1001 }, () => 7), ...values] : values;
          const wide = all.some((v) => typeof v === 'bigint' && (v > 2n ** 53n || v < -(2n ** 53n)));
          const double = all.some(
            (v) => typeof v === 'number' && (!Number.isSafeInteger(v) || Object.is(v, -0)),
          );
          const name = fresh();
          const outcome = await fx.writer
            .writeDataframe(
              all.map((a) => ({ a })),
              name,
              { format: 'parquet' },
            )
            .catch((e: unknown) => e);
          if (wide && double) {
            expect(refusalCode(outcome)).toBe('E021');
            return;
          }
          expect(outcome).toMatchObject({ rows: all.length });
          const file = (outcome as { location: string }).location;
          const back = await fx.engine.query<{ a: unknown }>(`SELECT a FROM read_parquet('${file}')`);
          back.forEach(({ a }, i) => {
            const sent = all[i];
            if (sent === null) expect(a).toBeNull();
            else if (double)
              expect(Object.is(a, Number(sent))).toBe(true); // DOUBLE column: Number(sent) is exact
            else expect(BigInt(a as bigint | number)).toBe(BigInt(sent as bigint | number));
          });
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
