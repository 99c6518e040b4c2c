import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.ts';
import {
  csvReader,
  csvWriter,
  FORMAT_NAMES,
  getFormat,
  jsonlReader,
  jsonlWriter,
  jsonReader,
  jsonWriter,
  parquetReader,
  parquetWriter,
  readRows,
  tabulate,
  writeRows,
} from '../../src/formats/index.ts';
import type { Row } from '../../src/formats/types.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { createMemoryStorage } from '../../src/storage/drivers/memory/memory-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function text(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  return Buffer.concat((await collect(chunks)).map((c) => Buffer.from(c))).toString('utf8');
}

async function* generate(n: number): AsyncIterable<Row> {
  for (let i = 0; i < n; i++) yield i % 2 === 0 ? { id: i, name: `n${i}` } : { id: i, extra: true };
}

const ROWS: Row[] = [
  { id: 1, name: 'plain', score: 1.5 },
  { id: 2, name: 'a "quoted", value\nwith newline', score: -2 },
  { id: 3, name: 'ünïcödé 🚀', flag: true },
];

const storages: [string, () => Promise<Storage>][] = [
  ['memory', async () => createMemoryStorage()],
  ['fs', async () => createFsStorage({ root: tempDir('formats') })],
  ['s3', async () => openStorage((await freshBucket('formats')).url('p/'), s3Options())],
];

describe.each(storages)('formats on %s', (_name, make) => {
  it('round-trips jsonl, json, csv and parquet through storage', async () => {
    const storage = await make();
    const jl = await jsonlWriter.write(storage, 'd/a.jsonl', ROWS);
    expect(jl).toMatchObject({ key: 'd/a.jsonl', rows: 3, format: 'jsonl' });
    expect(jl.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await collect(jsonlReader.read(storage, 'd/a.jsonl'))).toEqual(ROWS);

    await jsonWriter.write(storage, 'd/a.json', ROWS);
    expect(await collect(jsonReader.read(storage, 'd/a.json'))).toEqual(ROWS);

    await csvWriter.write(storage, 'd/a.csv', ROWS);
    const back = await collect(csvReader.read(storage, 'd/a.csv'));
    expect(back.map((r) => r.name)).toEqual(ROWS.map((r) => r.name));
    expect(Object.keys(back[0]!)).toEqual(['id', 'name', 'score', 'flag']);

    const pq = await parquetWriter.write(storage, 'd/a.parquet', ROWS);
    expect(pq.rows).toBe(3);
    const rows = await collect(parquetReader.read(storage, 'd/a.parquet'));
    expect(rows).toEqual([
      { id: 1, name: 'plain', score: 1.5, flag: null },
      { id: 2, name: ROWS[1]!.name, score: -2, flag: null },
      { id: 3, name: 'ünïcödé 🚀', score: null, flag: true },
    ]);
    await storage.close();
  });

  it('writes streamed input (async iterables) with the union header', async () => {
    const storage = await make();
    const r = await writeRows(storage, 'g/rows.csv', generate(1000));
    expect(r.rows).toBe(1000);
    const back = await collect(readRows(storage, 'g/rows.csv'));
    expect(back).toHaveLength(1000);
    expect(Object.keys(back[0]!)).toEqual(['id', 'name', 'extra']);
    expect(back[1]).toEqual({ id: '1', name: '', extra: 'true' });
    const p = await writeRows(storage, 'g/rows.parquet', generate(1000));
    expect(p.rows).toBe(1000);
    expect(await collect(readRows(storage, 'g/rows.parquet'))).toHaveLength(1000);
    await storage.close();
  });

  it('never overwrites with ifNotExists', async () => {
    const storage = await make();
    await jsonlWriter.write(storage, 'x.jsonl', ROWS, { ifNotExists: true });
    if (storage.capabilities.atomicCreate) {
      await expect(
        jsonlWriter.write(storage, 'x.jsonl', [{ a: 1 }], { ifNotExists: true }),
      ).rejects.toMatchObject({
        code: 'E013',
      });
      expect(await collect(jsonlReader.read(storage, 'x.jsonl'))).toEqual(ROWS);
    }
    await storage.close();
  });
});

describe('json', () => {
  it('writes pretty by default and compact on request', async () => {
    const pretty = await text(jsonWriter.encode([{ a: 1 }, { b: [1, 2] }]));
    expect(pretty).toBe(`${JSON.stringify([{ a: 1 }, { b: [1, 2] }], null, 2)}\n`);
    const compact = await text(jsonWriter.encode([{ a: 1 }, { b: 2 }], { pretty: false }));
    expect(compact).toBe('[{"a":1},{"b":2}]');
    expect(await text(jsonWriter.encode([]))).toBe('[]\n');
    expect(await text(jsonWriter.encode([{ n: 10n, big: 2n ** 70n }], { pretty: false }))).toBe(
      // Every digit, as a JSON number: a string would change the value's type.
      '[{"n":10,"big":1180591620717411303424}]',
    );
  });

  it('streams array elements split across tiny chunks, and reads a top-level object as one row', async () => {
    const doc = JSON.stringify([{ a: 'x,]}"\\', n: [1, { b: 2 }] }, { c: null }]);
    const chunks = [...doc].map((c) => Buffer.from(c));
    expect(await collect(jsonReader.decode(chunks))).toEqual(JSON.parse(doc));
    expect(await collect(jsonReader.decode(['{"a": 1}']))).toEqual([{ a: 1 }]);
    expect(await collect(jsonReader.decode([' [ ] ']))).toEqual([]);
  });

  it('rejects malformed documents with FormatError', async () => {
    await expect(collect(jsonReader.decode(['[{"a":1},'], { source: 'f.json' }))).rejects.toThrow(
      FormatError,
    );
    await expect(collect(jsonReader.decode(['[1,2]']))).rejects.toThrow(
      /element 1 is a number, not an object/,
    );
    await expect(collect(jsonReader.decode(['[{"a":1}] x']))).rejects.toThrow(/after the array/);
  });
});

describe('jsonl', () => {
  it('names the line of a bad record, or skips it with skipInvalid', async () => {
    const input = ['{"a":1}\n{"a":2}\n{"a":', '3}\n{torn'];
    const err = await collect(jsonlReader.decode(input, { source: 'k.jsonl' })).catch((e) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(err.code).toBe('E021');
    expect(err.message).toMatch(/k\.jsonl line 4/);
    expect(await collect(jsonlReader.decode(input, { skipInvalid: true }))).toEqual([
      { a: 1 },
      { a: 2 },
      { a: 3 },
    ]);
  });

  it('rejects non-object rows on write', async () => {
    await expect(text(jsonlWriter.encode([{ a: 1 }, 5 as unknown as Row]))).rejects.toThrow(
      /Row 1 is not an object/,
    );
  });
});

describe('csv', () => {
  it('uses the union of keys in first-seen order, and explicit columns when given', async () => {
    const out = await text(csvWriter.encode([{ a: 1 }, { b: 2, a: 3 }, { c: null }]));
    expect(out).toBe('a,b,c\n1,"",""\n3,2,""\n"","",""\n');
    const cols = await text(csvWriter.encode([{ a: 1, b: 2 }], { columns: ['b'] }));
    expect(cols).toBe('b\n2\n');
  });

  it('turns a plain object into key,value rows as the seed does', async () => {
    const rows = tabulate({ a: 1, b: 'x' });
    expect(rows).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 'x' },
    ]);
    expect(await text(csvWriter.encode(rows!))).toBe('key,value\na,1\nb,x\n');
    expect(tabulate('text')).toBeUndefined();
    expect(tabulate([1, 2])).toBeUndefined();
  });

  it('stores nested values as JSON and dates as ISO', async () => {
    const out = await text(csvWriter.encode([{ o: { x: [1] }, d: new Date(Date.UTC(2025, 0, 2)) }]));
    expect(out).toBe('o,d\n"{""x"":[1]}",2025-01-02T00:00:00.000Z\n');
  });

  it('casts when asked and reports the line of a malformed file', async () => {
    expect(await collect(csvReader.decode(['a,b\n1,true\n'], { cast: true }))).toEqual([{ a: 1, b: 'true' }]);
    const err = await collect(csvReader.decode(['a,b\n1,2\n3\n'], { source: 'bad.csv' })).catch((e) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toMatch(/bad\.csv line 3/);
  });
});

describe('parquet', () => {
  it('uses an explicit schema, zstd by default, and needs a schema for zero rows', async () => {
    const storage = createMemoryStorage();
    await parquetWriter.write(storage, 's.parquet', [{ a: '5', b: 'x', dropped: 1 }], {
      schema: { a: 'INTEGER', b: 'VARCHAR' },
    });
    expect(await collect(parquetReader.read(storage, 's.parquet'))).toEqual([{ a: 5, b: 'x' }]);
    await expect(parquetWriter.write(storage, 'e.parquet', [])).rejects.toThrow(/zero rows/);
    const empty = await parquetWriter.write(storage, 'e.parquet', [], { schema: { a: 'BIGINT' } });
    expect(empty.rows).toBe(0);
    expect(await collect(parquetReader.read(storage, 'e.parquet'))).toEqual([]);
    const bytes = await storage.get('s.parquet');
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('fails with FormatError on a file that is not parquet', async () => {
    const storage = createMemoryStorage();
    await storage.put('bad.parquet', 'not parquet');
    await expect(collect(parquetReader.read(storage, 'bad.parquet'))).rejects.toThrow(FormatError);
  });
});

describe('registry', () => {
  it('knows every format and rejects unknown names', () => {
    for (const name of FORMAT_NAMES) expect(getFormat(name).name).toBe(name);
    expect(() => getFormat('xml')).toThrow(/Unknown format "xml"/);
  });
});

describe('streaming', () => {
  it.each([
    ['jsonl', jsonlWriter, {}],
    ['json', jsonWriter, {}],
    ['csv with columns', csvWriter, { columns: ['id', 'name'] }],
  ] as const)('%s emits bytes before the input ends (bounded memory)', async (_n, writer, options) => {
    let produced = 0;
    async function* many(): AsyncIterable<Row> {
      for (; produced < 200_000; produced++) yield { id: produced, name: 'x'.repeat(20) };
    }
    const iterator = (writer.encode as (r: AsyncIterable<Row>, o: object) => AsyncIterable<Uint8Array>)(
      many(),
      options,
    )[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(produced).toBeLessThan(200_000);
    await iterator.return?.();
  });
});
