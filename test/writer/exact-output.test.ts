import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writerFixture } from './fixture.ts';

/**
 * Issue #18, "exact output": what `sluice convert` / `sluice write` print is what went in.
 * Timestamps keep their ISO-8601 form (instants in UTC with `Z`, local date-times without a zone)
 * through CSV, JSON and JSONL, and JSON is indented as documented (two spaces).
 */
const INPUT = [
  'id,at,local,day',
  '1,2024-01-01T00:00:00Z,2024-01-01T10:30:00,2024-01-01',
  '2,2024-06-01T12:34:56.789Z,2024-01-02T00:00:00.5,2024-02-29',
  '3,2024-03-10T08:00:00+02:00,2024-01-03T23:59:59.123456,2024-12-31',
  '',
].join('\n');

const ROWS = [
  { id: 1, at: '2024-01-01T00:00:00Z', local: '2024-01-01T10:30:00', day: '2024-01-01' },
  { id: 2, at: '2024-06-01T12:34:56.789Z', local: '2024-01-02T00:00:00.5', day: '2024-02-29' },
  { id: 3, at: '2024-03-10T06:00:00Z', local: '2024-01-03T23:59:59.123456', day: '2024-12-31' },
];

const CSV_OUT = ['id,at,local,day', ...ROWS.map((r) => `${r.id},${r.at},${r.local},${r.day}`), ''].join('\n');

async function sluiceOk(args: string[]): Promise<void> {
  const r = await runSluice(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

describe('exact output of sluice convert / write', { timeout: 120_000 }, () => {
  const dir = tempDir('exact-output');
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, INPUT);

  it('csv → csv keeps ISO-8601 timestamps (an offset becomes the same instant in Z)', async () => {
    const out = path.join(dir, 'out.csv');
    await sluiceOk(['convert', input, out]);
    expect(readFileSync(out, 'utf8')).toBe(CSV_OUT);
  });

  it('csv → jsonl keeps ISO-8601 timestamps', async () => {
    const out = path.join(dir, 'out.jsonl');
    await sluiceOk(['convert', input, out]);
    expect(readFileSync(out, 'utf8')).toBe(ROWS.map((r) => `${JSON.stringify(r)}\n`).join(''));
  });

  it('csv → json keeps ISO-8601 timestamps', async () => {
    const out = path.join(dir, 'ts.json');
    await sluiceOk(['convert', input, out]);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(ROWS);
  });

  it('csv → parquet keeps the types, and parquet → csv prints the same text', async () => {
    const pq = path.join(dir, 'out.parquet');
    const back = path.join(dir, 'back.csv');
    await sluiceOk(['convert', input, pq]);
    await sluiceOk(['convert', pq, back]);
    expect(readFileSync(back, 'utf8')).toBe(CSV_OUT);
    const fx = await import('../../src/engine/duckdb.ts');
    const engine = await fx.Engine.create();
    try {
      const types = await engine.query<{ column_name: string; column_type: string }>(
        `DESCRIBE SELECT * FROM read_parquet('${pq}')`,
      );
      expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toEqual({
        id: 'BIGINT',
        at: 'TIMESTAMP WITH TIME ZONE',
        local: 'TIMESTAMP',
        day: 'DATE',
      });
    } finally {
      await engine.close();
    }
  });

  it('csv → json is indented by two spaces, as JSON.stringify(rows, null, 2) plus a newline', async () => {
    const out = path.join(dir, 'indent.json');
    await sluiceOk(['convert', input, out]);
    expect(readFileSync(out, 'utf8')).toBe(`${JSON.stringify(ROWS, null, 2)}\n`);
  });

  it('write --partition-by csv keeps ISO-8601 timestamps in every partition', async () => {
    const task = path.join(dir, 'task');
    await sluiceOk([
      'write',
      input,
      '--task-dir',
      task,
      '--name',
      'p',
      '--format',
      'csv',
      '--partition-by',
      'id',
    ]);
    const parts = readdirSync(path.join(task, 'output', 'p')).sort();
    expect(parts).toEqual(['id=1', 'id=2', 'id=3']);
    const texts = parts.map((p) => readFileSync(path.join(task, 'output', 'p', p, 'part-0.csv'), 'utf8'));
    expect(texts).toEqual(ROWS.map((r) => `at,local,day\n${r.at},${r.local},${r.day}\n`));
  });
});

describe('exact output of writeDataframe', () => {
  const fx = writerFixture('exact-output-api');

  it('json from a query: nested values and exact numbers indented by two spaces; compact with pretty: false', async () => {
    const sql =
      "SELECT 1 AS id, 12345678901234567890.5::DECIMAL(38, 1) AS big, {'a': [1, 2], 'b': '{}'::JSON, 'c': []::INTEGER[]} AS nested, 'x, \"y\": [z]' AS s";
    await fx.writer.writeDataframe({ sql }, 'q', { format: 'json' });
    await fx.writer.writeDataframe({ sql }, 'qc', { format: 'json', pretty: false });
    await fx.writer.writeDataframe({ sql: `${sql} WHERE false` }, 'none', { format: 'json' });
    const row =
      '{"id":1,"big":12345678901234567890.5,"nested":{"a":[1,2],"b":{},"c":[]},"s":"x, \\"y\\": [z]"}';
    expect(readFileSync(path.join(fx.dir, 'output', 'q.json'), 'utf8')).toBe(
      [
        '[',
        '  {',
        '    "id": 1,',
        '    "big": 12345678901234567890.5,',
        '    "nested": {',
        '      "a": [',
        '        1,',
        '        2',
        '      ],',
        '      "b": {},',
        '      "c": []',
        '    },',
        '    "s": "x, \\"y\\": [z]"',
        '  }',
        ']',
        '',
      ].join('\n'),
    );
    expect(readFileSync(path.join(fx.dir, 'output', 'qc.json'), 'utf8')).toBe(`[${row}]`);
    expect(readFileSync(path.join(fx.dir, 'output', 'none.json'), 'utf8')).toBe('[]\n');
  });

  it('Dates print as toISOString() whether or not the csv is partitioned', async () => {
    const at = new Date('2024-01-01T00:00:00Z');
    const rows = [{ at, p: 'x' }];
    await fx.writer.writeDataframe(rows, 'flat', { format: 'csv' });
    await fx.writer.writeDataframe(rows, 'parts', { format: 'csv', partitionBy: 'p' });
    expect(readFileSync(path.join(fx.dir, 'output', 'flat.csv'), 'utf8')).toBe(
      'at,p\n2024-01-01T00:00:00.000Z,x\n',
    );
    expect(readFileSync(path.join(fx.dir, 'output', 'parts', 'p=x', 'part-0.csv'), 'utf8')).toBe(
      'at\n2024-01-01T00:00:00.000Z\n',
    );
  });
});
