import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import type { SluiceError } from '../../src/errors.ts';
import { DataIngester, ROOT_SOURCE } from '../../src/pipeline/ingester.ts';
import { Lake } from '../../src/pipeline/lake.ts';
import { readLoadRecord } from '../../src/pipeline/load-records.ts';
import { tempDir } from '../helpers/tmp.ts';
import { project, SEED_SCHEMA, seedCsv, writeFile } from './helpers.ts';

const engine = await Engine.create({ threads: 1 });
afterAll(() => engine.close());

async function expectCode(p: Promise<unknown>, code: string): Promise<SluiceError> {
  const error = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as SluiceError | undefined;
  expect(error, `expected an ${code}`).toBeDefined();
  expect(error?.code).toBe(code);
  return error as SluiceError;
}

/** A value that does not fit the schema. */
const expectE003 = (p: Promise<unknown>) => expectCode(p, 'E003');
/** A file that is not valid CSV (structure, encoding): the strict tokenizer's error. */
const expectE021 = (p: Promise<unknown>) => expectCode(p, 'E021');

for (const kind of ['fs', 's3'] as const) {
  describe(`DataIngester on ${kind}`, async () => {
    const { dir, config, lake } = await project(kind, `ingest-${kind}`);
    const ingester = new DataIngester(config, { lake });
    afterAll(() => ingester.close());
    const l = new Lake(lake);

    it('converts a CSV with the seed schema to landing Parquet with a load record', async () => {
      const csv = writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(100));
      const r = await ingester.ingestCsv(csv, 'sdg', SEED_SCHEMA);
      expect(r).toMatchObject({
        source: 'sdg',
        name: 'SDG_DATA',
        key: 'dev/landing/sdg/SDG_DATA.parquet',
        rows: 100,
        rejected: 0,
      });
      const store = l.env('dev');
      const info = await store.stat('landing/sdg/SDG_DATA.parquet');
      expect(info.size).toBe(r.bytes);
      expect(info.metadata.sha256).toBe(r.sha256);
      const rec = await readLoadRecord(l.internal('dev'), 'landing/sdg/SDG_DATA.parquet');
      expect(rec).toMatchObject({ rows: 100, bytes: r.bytes, sha256: r.sha256 });
      expect(rec?.columns).toEqual([
        { name: 'indicator_id', type: 'VARCHAR' },
        { name: 'country_id', type: 'VARCHAR' },
        { name: 'year', type: 'BIGINT' },
        { name: 'value', type: 'DECIMAL(18,6)' },
      ]);
      const local = await l.localFile(store, 'landing/sdg/SDG_DATA.parquet', tempDir('pq'));
      const [row] = await engine.query<{ s: number }>(
        `SELECT sum(value)::DOUBLE AS s FROM read_parquet(${quoteLiteral(local)})`,
      );
      expect(row?.s).toBeCloseTo(
        Array.from({ length: 100 }, (_, i) => i * 1.25).reduce((a, b) => a + b),
        6,
      );
    });

    it('supports every schema type', async () => {
      const csv = writeFile(
        path.join(dir, 'types.csv'),
        's,i,d,f,dt,b,ts\nhello,42,1.50,2.25,2024-02-29,true,2024-01-02 03:04:05\n,,,,,,\n',
      );
      const schema = {
        s: 'String',
        i: 'Int',
        d: 'Decimal(10,2)',
        f: 'Float64',
        dt: 'Date',
        b: 'Boolean',
        ts: 'Timestamp',
      };
      const r = await ingester.ingestCsv(csv, 'types', schema);
      expect(r.rows).toBe(2);
      const rec = await readLoadRecord(l.internal('dev'), 'landing/types/types.parquet');
      expect(rec?.columns.map((c) => c.type)).toEqual([
        'VARCHAR',
        'BIGINT',
        'DECIMAL(10,2)',
        'DOUBLE',
        'DATE',
        'BOOLEAN',
        'TIMESTAMP',
      ]);
    });

    it('bad rows give E003 naming file, row, column and value; nothing is published', async () => {
      const bad = (name: string, body: string | Buffer) => writeFile(path.join(dir, 'bad', name), body);
      const wrongType = bad('type.csv', 'indicator_id,country_id,year,value\nA,B,2001,1.5\nA,B,twenty,2.5\n');
      let e = await expectE003(ingester.ingestCsv(wrongType, 'bad', SEED_SCHEMA));
      expect(e.message).toContain(wrongType);
      expect(e.message).toMatch(/row 3 column year: value "twenty"/);
      expect(e.context).toMatchObject({ file: wrongType, row: 3, column: 'year', value: 'twenty' });

      const fewer = bad('few.csv', 'indicator_id,country_id,year,value\nA,B,2001,1.5\nA,B,2002,2.5\nA,B\n');
      e = await expectE021(ingester.ingestCsv(fewer, 'bad', SEED_SCHEMA));
      expect(e.message).toBe(`CSV ${fewer} line 4: 2 fields, but the header has 4`);
      expect(e.context).toMatchObject({ file: fewer, line: 4 });

      const more = bad('more.csv', 'indicator_id,country_id,year,value\nA,B,2001,1.5,extra\n');
      e = await expectE021(ingester.ingestCsv(more, 'bad', SEED_SCHEMA));
      expect(e.message).toBe(`CSV ${more} line 2: 5 fields, but the header has 4`);

      const utf8 = bad(
        'utf8.csv',
        Buffer.concat([
          Buffer.from('indicator_id,country_id,year,value\nA,B,2001,1.5\nA,'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from(',2002,1\n'),
        ]),
      );
      e = await expectE021(ingester.ingestCsv(utf8, 'bad', SEED_SCHEMA));
      expect(e.message).toMatch(/line 3: invalid UTF-8 \(byte 0xff at byte offset \d+, column 3\)/);

      const header = bad('header.csv', 'indicator,country_id,year,value\nA,B,2001,1.5\n');
      e = await expectE003(ingester.ingestCsv(header, 'bad', SEED_SCHEMA));
      expect(e.message).toMatch(/row 1 \(header\) column 1: expected "indicator_id", found "indicator"/);

      expect(await l.env('dev').exists('landing/bad/type.parquet')).toBe(false);
      // validateSchema reports the same without writing.
      e = await expectE003(ingester.validateSchema(wrongType, SEED_SCHEMA));
      expect(e.context.row).toBe(3);
      await expect(
        ingester.validateSchema(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), SEED_SCHEMA),
      ).resolves.toBe(true);
    });

    it('a failed re-ingest leaves the published file untouched', async () => {
      const csv = writeFile(path.join(dir, 'keep/data.csv'), seedCsv(10));
      const first = await ingester.ingestCsv(csv, 'keep', SEED_SCHEMA);
      writeFile(csv, `${seedCsv(10)}X,Y,notayear,1\n`);
      await expectE003(ingester.ingestCsv(csv, 'keep', SEED_SCHEMA));
      const info = await l.env('dev').stat('landing/keep/data.parquet');
      expect(info.metadata.sha256).toBe(first.sha256);
    });

    it('with a reject file, loads the good rows and writes the bad ones', async () => {
      const csv = writeFile(
        path.join(dir, 'rej/data.csv'),
        'indicator_id,country_id,year,value\nA,B,2001,1.5\nA,B,x,2\nA,B,2003,3\nA,B\n',
      );
      const rejectFile = path.join(dir, 'rej/rejects.csv');
      const r = await ingester.ingestCsv(csv, 'rej', SEED_SCHEMA, { rejectFile });
      expect(r.rows).toBe(2);
      expect(r.rejected).toBe(2);
      const text = readFileSync(rejectFile, 'utf8');
      expect(text.split('\n')[0]).toBe('line,column,error_type,csv_line,error_message');
      expect(text).toContain('3,year,CAST,"A,B,x,2"');
      expect(text).toContain('5,year,MISSING COLUMNS');
    });

    it('ingestAllSources walks raw/<source>/ without collisions, dotted folders and root files', async () => {
      const raw = path.join(dir, 'data/raw');
      writeFile(path.join(raw, 'wdi/data.csv'), seedCsv(5));
      writeFile(path.join(raw, 'opri/data.csv'), seedCsv(6));
      writeFile(path.join(raw, 'opri/2020/data.csv'), seedCsv(7));
      writeFile(path.join(raw, 'un.sdg/v1.2.csv'), seedCsv(8));
      writeFile(path.join(raw, 'top.csv'), 'a,b\n1,2\n');
      writeFile(
        path.join(raw, 'wdi/schema.yaml'),
        'columns:\n  indicator_id: String\n  country_id: String\n  year: Int\n  value: Float64\n',
      );
      const result = await ingester.ingestAllSources();
      expect(result).toEqual({ [ROOT_SOURCE]: true, opri: true, sdg: true, 'un.sdg': true, wdi: true });
      const keys = (await l.snapshot('dev')).files.map((f) => f.path);
      expect(keys).toEqual(
        expect.arrayContaining([
          'landing/wdi/data.parquet',
          'landing/opri/data.parquet',
          'landing/opri/2020/data.parquet',
          'landing/un.sdg/v1.2.parquet',
          `landing/${ROOT_SOURCE}/top.parquet`,
        ]),
      );
      const rec = await readLoadRecord(l.internal('dev'), 'landing/opri/2020/data.parquet');
      expect(rec?.rows).toBe(7);
      expect((await readLoadRecord(l.internal('dev'), 'landing/wdi/data.parquet'))?.columns[3]?.type).toBe(
        'DOUBLE',
      );
    });
  });
}

describe('DataIngester reading the CSV from object storage', async () => {
  const { config, lake } = await project('fs', 'ingest-url');
  const { freshBucket, s3Options } = await import('../helpers/s3.ts');
  const b = await freshBucket('ingest-url');
  const raw = (await import('../../src/storage/open.ts')).openStorage(b.url('raw/'), s3Options());
  const ingester = new DataIngester(config, { lake, storageOptions: s3Options() });
  afterAll(() => ingester.close());

  it('stages s3:// input to a temp file for DuckDB; errors name the URL', async () => {
    await raw.put('sdg/SDG.csv', seedCsv(25));
    const r = await ingester.ingestCsv(b.url('raw/sdg/SDG.csv'), 'sdg', SEED_SCHEMA);
    expect(r).toMatchObject({ rows: 25, key: 'dev/landing/sdg/SDG.parquet' });
    await raw.put('sdg/BAD.csv', 'indicator_id,country_id,year,value\nA,B,2001,x\n');
    const e = await expectE003(ingester.ingestCsv(b.url('raw/sdg/BAD.csv'), 'sdg', SEED_SCHEMA));
    expect(e.message).toMatch(new RegExp(`^${b.url('raw/sdg/BAD.csv')} row 2 column value: value "x"`));
  });
});
