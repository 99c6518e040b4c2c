/**
 * One broken input per rule, through every JSON and JSONL entry point: each is E021 naming the
 * file and line (in the message and the context), and `ts import` stores nothing. Then the rules
 * that accept: BOM, blank lines, CRLF, a last line without line end, big integers, -0, surrogates.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonlReader, jsonReader } from '../../src/formats/index.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ENTRY_POINTS, formatErrorOf } from './json-entry-points.ts';

const root = tempDir('json-strict');
mkdirSync(root, { recursive: true });
let store: TimeSeriesStore | undefined;
let files = 0;
afterAll(async () => store?.close());

/** `sluice ts import` of `bytes` as a .jsonl file: what it imported, or its error. */
async function tsImport(bytes: Buffer, name: string): Promise<unknown[]> {
  store ??= await TimeSeriesStore.open(path.join(root, 'store'), { compactIntervalMs: 0 });
  const file = path.join(root, `${++files}-${name}.jsonl`);
  writeFileSync(file, bytes);
  const result = await store.importJsonl(file);
  return [result];
}

const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
const b = (text: string) => Buffer.from(text);
const ff = '\f';
const nbsp = '\u00a0';

/** A document (table reader, poller .json) and JSON Lines (jsonl readers, ts import) per rule. */
const BROKEN: { rule: string; doc?: [Buffer, number]; lines?: [Buffer, number]; says: RegExp }[] = [
  {
    rule: 'trailing comma',
    doc: [b('[\n {"a":1},\n]'), 3],
    lines: [b('{"timestamp":1,"value":1}\n{"timestamp":2,"value":2,}\n'), 2],
    says: /trailing comma before/,
  },
  {
    rule: 'form feed as whitespace',
    doc: [b(`[{"a":1},${ff}{"a":2}]`), 1],
    lines: [b(`{"timestamp":1,"value":1}\n${ff}{"timestamp":2,"value":2}\n`), 2],
    says: /form feed U\+000C, which is not JSON whitespace/,
  },
  {
    rule: 'U+00A0 as whitespace',
    doc: [b(`[\n{"a":1}${nbsp}\n]`), 2],
    lines: [b(`{"timestamp":1,"value":1}\n{"timestamp":${nbsp}2,"value":2}`), 2],
    says: /no-break space U\+00A0, which is not JSON whitespace/,
  },
  {
    rule: 'truncated after a comma',
    doc: [b('[{"a":1},{"a":2},'), 1],
    lines: [b('{"timestamp":1,"value":1}\n{"timestamp":2,"val'), 2],
    says: /unexpected end of the document|unterminated string/,
  },
  {
    rule: 'unclosed array with newlines',
    doc: [b('[\n{"a":1},\n{"a":2}\n'), 4],
    says: /the array opened at line 1 column 1 is not closed/,
  },
  { rule: 'empty document', doc: [b(''), 1], says: /empty document/ },
  { rule: 'whitespace-only document', doc: [b(' \n\t\n  '), 3], says: /empty document/ },
  {
    rule: 'invalid UTF-8',
    doc: [Buffer.concat([b('[{"a":1},\n{"a":"'), Buffer.from([0xff]), b('"}]')]), 2],
    lines: [
      Buffer.concat([
        b('{"timestamp":1,"value":1}\n{"timestamp":2,"value":"'),
        Buffer.from([0xc3, 0x28]),
        b('"}\n'),
      ]),
      2,
    ],
    says: /invalid UTF-8 \(byte 0x(ff|c3)/,
  },
  {
    rule: 'nesting 100000 deep',
    doc: [b(`\n${deep}`), 2],
    lines: [b(`{"timestamp":1,"value":1}\n{"timestamp":2,"value":1,"metadata":{"a":${deep}}}\n`), 2],
    says: /nesting deeper than the limit of 512 levels/,
  },
  {
    rule: 'comment',
    doc: [b('[{"a":1} // one\n]'), 1],
    lines: [b('{"timestamp":1,"value":1} // one\n'), 1],
    says: /comments are not allowed in JSON/,
  },
  {
    rule: 'NaN',
    doc: [b('[{"a":NaN}]'), 1],
    lines: [b('{"timestamp":1,"value":NaN}\n'), 1],
    says: /NaN is not a JSON number/,
  },
  {
    rule: 'leading zero',
    doc: [b('[{"a":007}]'), 1],
    lines: [b('{"timestamp":1,"value":007}\n'), 1],
    says: /leading zeros/,
  },
  {
    rule: 'single quotes',
    doc: [b("[{'a':1}]"), 1],
    lines: [b("{'timestamp':1,'value':1}\n"), 1],
    says: /single quote/,
  },
  {
    rule: 'number too large for a double',
    doc: [b('[{"a":1e400}]'), 1],
    lines: [b('{"timestamp":1,"value":1e400}\n'), 1],
    says: /too large for a double/,
  },
];

/** How each reader names the file and line in its message. */
const WHERE: Record<string, (name: string, line: number) => string> = {
  table: (name, line) => `JSON ${name} line ${line}`,
  pollerJson: (name, line) => `${name}.json: invalid JSON at line ${line}`,
  jsonl: (name, line) => `JSONL ${name} line ${line}`,
  pollerJsonl: (name, line) => `${name}.jsonl: invalid JSONL at line ${line}`,
  tsImport: (name, line) => `${name}.jsonl line ${line}`,
};

const DOC_READERS = { table: ENTRY_POINTS.table, pollerJson: ENTRY_POINTS.pollerJson };
const LINE_READERS = { jsonl: ENTRY_POINTS.jsonl, pollerJsonl: ENTRY_POINTS.pollerJsonl, tsImport };

describe('broken JSON and JSONL: E021 naming file and line, in every reader', () => {
  for (const c of BROKEN) {
    it(c.rule, async () => {
      const name = c.rule.replaceAll(/[^a-z0-9]+/gi, '-');
      const readers: [string, (bytes: Buffer, name: string) => Promise<unknown[]>, [Buffer, number]][] = [];
      if (c.doc) for (const [r, read] of Object.entries(DOC_READERS)) readers.push([r, read, c.doc]);
      if (c.lines) for (const [r, read] of Object.entries(LINE_READERS)) readers.push([r, read, c.lines]);
      for (const [reader, read, [bytes, line]] of readers) {
        const what = `${reader}: ${c.rule}`;
        const error = await formatErrorOf(() => read(bytes, name), what);
        expect(error.message, what).toMatch(c.says);
        expect(error.message, what).toContain(WHERE[reader]?.(name, line));
        expect(error.context.line, what).toBe(line);
        if (reader.startsWith('poller')) expect(String(error.context.key), what).toContain(name);
        else expect(String(error.context.file), what).toContain(name);
        expect(error.message, what).not.toMatch(/position \d+|SyntaxError|at .*\.ts:\d+/);
      }
      if (c.lines) expect(await store?.variables(), 'ts import stored nothing').toEqual([]);
    });
  }

  it('poller messages name the key first and the line, with the record number', async () => {
    const error = await formatErrorOf(
      () => ENTRY_POINTS.pollerJsonl(b('{"a":1}\n\n{"a":[1,]}\n'), 'dir/x'),
      'poller jsonl',
    );
    expect(error.message).toBe("dir/x.jsonl: invalid JSONL at line 3 column 9: trailing comma before ']'");
    expect(error.context).toMatchObject({
      key: 'dir/x.jsonl',
      file: 'dir/x.jsonl',
      line: 3,
      column: 9,
      row: 2,
    });
  });

  it('the depth limit is an option of each reader, and 512 levels pass by default', async () => {
    const nested = (levels: number) => `{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
    expect(await ENTRY_POINTS.jsonl(b(nested(512)), 'ok')).toHaveLength(1);
    await formatErrorOf(() => ENTRY_POINTS.jsonl(b(nested(513)), 'deep'), '513 levels');
    const rows = jsonlReader.decode([b(nested(5))], { maxDepth: 4, source: 'small' });
    const error = await formatErrorOf(async () => {
      for await (const _ of rows);
    }, 'maxDepth 4');
    expect(error.message).toBe('JSONL small line 1 column 9: nesting deeper than the limit of 4 levels');
    const table = jsonReader.decode([b(`[${nested(3)}]`)], { maxDepth: 3, source: 't.json' });
    const tableError = await formatErrorOf(async () => {
      for await (const _ of table);
    }, 'table maxDepth 3');
    expect(tableError.context).toMatchObject({ file: 't.json', line: 1, column: 8, limit: 3 });
  });

  it('a line longer than the limit is E021 before it is held whole', async () => {
    const long = b(`{"timestamp":1,"value":1}\n{"a":"${'x'.repeat(5000)}"}\n`);
    const rows = jsonlReader.decode([long], { maxLineBytes: 1000, source: 'long.jsonl' });
    const error = await formatErrorOf(async () => {
      for await (const _ of rows);
    }, 'maxLineBytes');
    expect(error.message).toContain('long.jsonl line 2: line is longer than the limit of 1000 bytes');
    const poller = await formatErrorOf(async () => {
      const { parseRecords } = await import('../../src/poller/parse.ts');
      const { Readable } = await import('node:stream');
      for await (const _ of parseRecords(Readable.from([long]), 'long.jsonl', { maxRecordBytes: 1000 }));
    }, 'maxRecordBytes');
    expect(poller.message).toContain('maxRecordBytes');
    expect(poller.context).toMatchObject({ line: 2 });
  });
});

describe('what the strict readers accept', () => {
  it('a leading BOM, CRLF, blank lines and a last line without line end', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const jsonl = Buffer.concat([bom, b('{"a":1}\r\n\r\n  \t\n{"a":2}\n\n{"a":3}')]);
    for (const chunk of [1, 2, 3, 5, 1000]) {
      expect(await ENTRY_POINTS.jsonl(jsonl, 'ok', chunk)).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
      expect(await ENTRY_POINTS.pollerJsonl(jsonl, 'ok', chunk)).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
      const doc = Buffer.concat([bom, b('\r\n[ {"a":1} ,\t{"a":2}\r\n]\r\n')]);
      expect(await ENTRY_POINTS.table(doc, 'ok', chunk)).toEqual([{ a: 1 }, { a: 2 }]);
      expect(await ENTRY_POINTS.pollerJson(doc, 'ok', chunk)).toEqual([[{ a: 1 }, { a: 2 }]]);
    }
    // A BOM anywhere but at the start is data, and not whitespace.
    await formatErrorOf(
      () => ENTRY_POINTS.jsonl(Buffer.concat([b('{"a":1}\n'), bom, b('{"a":2}')]), 'x'),
      'BOM',
    );
  });

  it('a top-level object is one row; an empty array is no rows', async () => {
    expect(await ENTRY_POINTS.table(b('\n {"a": {"b": [1, 2]}} \n'), 'o')).toEqual([{ a: { b: [1, 2] } }]);
    expect(await ENTRY_POINTS.table(b(' [ \n ] '), 'e')).toEqual([]);
    const error = await formatErrorOf(() => ENTRY_POINTS.table(b('{"a":1}\n{"a":2}'), 'two'), 'two objects');
    expect(error.message).toBe(
      "JSON two line 2 column 1: unexpected '{' after the object: only whitespace may follow it",
    );
  });

  it('integers beyond 2^53 stay exact (BigInt) in the format readers, -0 stays -0', async () => {
    const text =
      '{"big":9007199254740993,"neg":-12345678901234567890,"safe":9007199254740991,"float":1.5e300,"z":-0,"fz":-0.0}';
    const expected = {
      big: 9007199254740993n,
      neg: -12345678901234567890n,
      safe: 9007199254740991,
      float: 1.5e300,
      z: -0,
      fz: -0,
    };
    const [fromTable] = await ENTRY_POINTS.table(b(`[${text}]`), 'big');
    const [fromLines] = await ENTRY_POINTS.jsonl(b(text), 'big');
    for (const row of [fromTable, fromLines] as Record<string, unknown>[]) {
      expect(row).toEqual(expected);
      expect(Object.is(row.z, -0) && Object.is(row.fz, -0)).toBe(true);
    }
    // Escaped keys take the fallback parser, which keeps them exact too.
    expect(await ENTRY_POINTS.jsonl(b('{"a\\n":12345678901234567890}'), 'esc')).toEqual([
      { 'a\n': 12345678901234567890n },
    ]);
  });

  it('the poller and ts import refuse integers beyond 2^53 naming the key and line', async () => {
    const lines = b('{"name":"n","value":1}\n{"name":"n","value":9007199254740993}\n');
    const error = await formatErrorOf(() => ENTRY_POINTS.pollerJsonl(lines, 'ids'), 'poller');
    expect(error.message).toBe(
      'ids.jsonl: invalid JSONL at line 2 column 21: integer 9007199254740993 at $.value is beyond ±9007199254740991 (2^53 − 1) and would lose its exact value: send it as a string',
    );
    const doc = await formatErrorOf(
      () => ENTRY_POINTS.pollerJson(b('{"ids":[1,\n-9007199254740993]}'), 'd'),
      'doc',
    );
    expect(doc.message).toContain(
      'd.json: invalid JSON at line 2 column 1: integer -9007199254740993 at $.ids[1]',
    );
    const ts = await formatErrorOf(
      () => tsImport(b('{"timestamp":1,"value":12345678901234567890}\n'), 'ts'),
      'ts',
    );
    expect(ts.message).toMatch(/ts\.jsonl line 1 column 24: integer 12345678901234567890 at \$\.value/);
    // Big numbers that are not integers are doubles, as JSON.parse reads them.
    expect(await ENTRY_POINTS.pollerJson(b('[1.5e300, 12345678901234567890.5, 1e-400]'), 'f')).toEqual([
      [1.5e300, Number('12345678901234567890.5'), 0],
    ]);
  });

  it('lone surrogate escapes are accepted, as JSON.parse does', async () => {
    expect(await ENTRY_POINTS.jsonl(b('{"s":"\\uDADA","\\uDFAA":1}'), 's')).toEqual([
      { s: '\uDADA', '\uDFAA': 1 },
    ]);
  });
});
