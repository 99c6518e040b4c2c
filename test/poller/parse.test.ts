import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FormatError, type SluiceError } from '../../src/errors.ts';
import { detectFormat, type ParseOptions, parseRecords } from '../../src/poller/parse.ts';
import fc from '../helpers/fc.ts';

const stream = (data: string | Buffer, chunk = 7) => {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
};

async function all(key: string, data: string | Buffer, opts?: ParseOptions, chunk?: number) {
  const out = [];
  for await (const r of parseRecords(stream(data, chunk), key, opts)) out.push(r);
  return out;
}

async function failure(key: string, data: string | Buffer, opts?: ParseOptions): Promise<SluiceError> {
  try {
    await all(key, data, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(FormatError);
    return error as SluiceError;
  }
  throw new Error('expected a FormatError');
}

describe('detectFormat', () => {
  it('knows json, jsonl, ndjson, csv and their .gz, case-insensitively', () => {
    expect(detectFormat('a/b.JSON')).toEqual({ format: 'json', gzip: false });
    expect(detectFormat('a.jsonl.gz')).toEqual({ format: 'jsonl', gzip: true });
    expect(detectFormat('a.ndjson')).toEqual({ format: 'jsonl', gzip: false });
    expect(detectFormat('x.csv.gz')).toEqual({ format: 'csv', gzip: true });
    expect(detectFormat('x.txt')).toBeUndefined();
    expect(detectFormat('x.gz')).toBeUndefined();
  });
});

describe('parseRecords', () => {
  it('JSON document is one record; with jsonArray=records one per element', async () => {
    const doc = JSON.stringify([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(await all('d.json', doc)).toEqual([{ n: 1, record: [{ a: 1 }, { a: 2 }, { a: 3 }] }]);
    const recs = await all('d.json', doc, { jsonArray: 'records' });
    expect(recs.map((r) => [r.n, r.record])).toEqual([
      [1, { a: 1 }],
      [2, { a: 2 }],
      [3, { a: 3 }],
    ]);
    // A non-array document stays one record in records mode.
    expect(await all('o.json', '{"x":1}', { jsonArray: 'records' })).toEqual([{ n: 1, record: { x: 1 } }]);
  });

  it('invalid JSON names the key and line', async () => {
    const err = await failure('dir/bad.json', '{\n "a": 1,\n oops\n}');
    expect(err.code).toBe('E021');
    expect(err.message).toContain('dir/bad.json');
    expect(err.context.line).toBe(3);
  });

  it('JSONL: one record per line, blank lines and CRLF tolerated, bad line reported', async () => {
    const recs = await all('l.jsonl', '{"a":1}\r\n\n{"a":2}\n{"a":3}');
    expect(recs.map((r) => [r.n, r.line, r.record])).toEqual([
      [1, 1, { a: 1 }],
      [2, 3, { a: 2 }],
      [3, 4, { a: 3 }],
    ]);
    const err = await failure('l.jsonl', '{"a":1}\n{"a":2}\n{"a":\n');
    expect(err.context).toMatchObject({ key: 'l.jsonl', line: 3, row: 3 });
    expect(err.message).toContain('line 3');
  });

  it('CSV: one record per row with header columns and line numbers; a bad row is reported', async () => {
    const csv = 'name,value\nx,1\n"multi\nline",2\ny,3\n';
    const recs = await all('c.csv', csv);
    expect(recs.map((r) => r.record)).toEqual([
      { name: 'x', value: '1' },
      { name: 'multi\nline', value: '2' },
      { name: 'y', value: '3' },
    ]);
    expect(recs.map((r) => r.n)).toEqual([1, 2, 3]);
    const err = await failure('c.csv', 'name,value\nx,1\ny,2,extra\n');
    expect(err.code).toBe('E021');
    expect(err.message).toContain('c.csv');
    expect(err.context.row).toBe(2);
    expect(err.context.line).toBe(3);
  });

  it('gzip of every format; corrupt gzip is a FormatError', async () => {
    expect((await all('a.json.gz', gzipSync('{"a":1}'))).length).toBe(1);
    expect((await all('a.jsonl.gz', gzipSync('{"a":1}\n{"a":2}\n'))).length).toBe(2);
    expect((await all('a.csv.gz', gzipSync('h\n1\n2\n3\n'))).length).toBe(3);
    const err = await failure('z.csv.gz', Buffer.from('not gzip at all'));
    expect(err.message).toContain('z.csv.gz');
  });

  it('a JSON document above maxRecordBytes is refused, not buffered', async () => {
    const err = await failure('big.json', `[${'1,'.repeat(5000)}1]`, { maxRecordBytes: 1000 });
    expect(err.message).toContain('maxRecordBytes');
  });

  it('streams a large JSONL input record by record', async () => {
    const lines = 200_000;
    async function* gen() {
      for (let i = 0; i < lines; i += 1000) {
        let s = '';
        for (let j = i; j < i + 1000; j++) s += `{"name":"v","value":${j}}\n`;
        yield Buffer.from(s);
      }
    }
    let n = 0;
    let last: unknown;
    for await (const r of parseRecords(Readable.from(gen()), 'big.jsonl')) {
      n++;
      last = r.record;
    }
    expect(n).toBe(lines);
    expect(last).toEqual({ name: 'v', value: lines - 1 });
  });

  it('property: JSONL and CSV round-trip whatever the chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ name: fc.string(), value: fc.integer() }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 50 }),
        async (rows, chunk) => {
          const jsonl = rows.map((r) => JSON.stringify(r)).join('\n');
          const got = await all('p.jsonl', jsonl, undefined, chunk);
          expect(got.map((r) => r.record)).toEqual(rows);
          const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
          const csv = `name,value\n${rows.map((r) => `${quote(r.name)},${r.value}`).join('\n')}\n`;
          const gotCsv = await all('p.csv', csv, undefined, chunk);
          expect(gotCsv.map((r) => r.record)).toEqual(
            rows.map((r) => ({ name: r.name, value: String(r.value) })),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});
