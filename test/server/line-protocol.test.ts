import { describe, expect, it } from 'vitest';
import { FormatError, type SluiceError } from '../../src/errors.ts';
import { type LineField, type ParsedLine, parseLineProtocol } from '../../src/server/line-protocol/parse.ts';
import fc from '../helpers/fc.ts';

/** The FormatError a body raises, or undefined when it parses. */
function failure(text: string, maxPoints?: number): SluiceError | undefined {
  try {
    parseLineProtocol(text, maxPoints === undefined ? {} : { maxPoints });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(FormatError);
    return error as SluiceError;
  }
}

describe('line protocol: what InfluxDB accepts', () => {
  it('reads measurement, tags, every field type and the timestamp', () => {
    const [p] = parseLineProtocol(
      'weather,location=us-midwest,season=summer temp=82.5,hum=71i,n=3u,ok=true,note="hot day" 1465839830100400200',
    );
    expect(p).toEqual({
      line: 1,
      measurement: 'weather',
      tags: [
        ['location', 'us-midwest'],
        ['season', 'summer'],
      ],
      fields: [
        { key: 'temp', kind: 'float', value: 82.5 },
        { key: 'hum', kind: 'integer', value: 71 },
        { key: 'n', kind: 'unsigned', value: 3 },
        { key: 'ok', kind: 'boolean', value: true },
        { key: 'note', kind: 'string', value: 'hot day' },
      ],
      timestamp: '1465839830100400200',
    });
  });

  it('resolves escapes as InfluxDB does', () => {
    const [p] = parseLineProtocol(
      'my\\ meas\\,x\\=y,tag\\ key\\,a\\=b=tag\\ val\\,c\\=d field\\ k\\=e="say \\"hi\\" c:\\\\dir\\n"',
    );
    expect(p?.measurement).toBe('my meas,x\\=y'); // `=` is not escaped in a measurement
    expect(p?.tags).toEqual([['tag key,a=b', 'tag val,c=d']]);
    expect(p?.fields).toEqual([{ key: 'field k=e', kind: 'string', value: 'say "hi" c:\\dir\\n' }]);
  });

  it('keeps a backslash before any other character, and reads \\\\ as one backslash', () => {
    const [p] = parseLineProtocol('a\\b\\\\c,t=x\\y v=1');
    expect(p?.measurement).toBe('a\\b\\c');
    expect(p?.tags).toEqual([['t', 'x\\y']]);
  });

  it('reads every boolean spelling and float form', () => {
    const [p] = parseLineProtocol(
      'm a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE,k=1,l=-1.5,m=1e3,n=.5,o=1.,p=-2E-2',
    );
    expect(p?.fields.map((f) => f.value)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      1,
      -1.5,
      1000,
      0.5,
      1,
      -0.02,
    ]);
  });

  it('keeps int64 and uint64 extremes exact (bigint beyond 2^53)', () => {
    const [p] = parseLineProtocol(
      'm a=9223372036854775807i,b=-9223372036854775808i,c=18446744073709551615u,d=9007199254740991i',
    );
    expect(p?.fields.map((f) => f.value)).toEqual([
      9223372036854775807n,
      -9223372036854775808n,
      18446744073709551615n,
      9007199254740991,
    ]);
  });

  it('skips blank lines, comments and leading whitespace; counts lines for each point', () => {
    const points = parseLineProtocol(
      '# header\n\n   \n  m v=1 1\r\n\t# indented comment\nm v=2   \n\nm v=3 3   ',
    );
    expect(points.map((p) => [p.line, p.fields[0]?.value, p.timestamp])).toEqual([
      [4, 1, '1'],
      [6, 2, undefined],
      [8, 3, '3'],
    ]);
  });

  it('lets a string value span lines and keeps counting', () => {
    const e = failure('m s="a\nb\nc"\nm v=1\nm v=');
    expect(e?.context.line).toBe(5);
    expect(parseLineProtocol('m s="a\nb"\nm v=1')[1]?.line).toBe(3);
  });

  it('accepts multiple spaces between sections and a negative timestamp', () => {
    const [p] = parseLineProtocol('m,t=1    v=1     -1000');
    expect(p?.timestamp).toBe('-1000');
  });
});

describe('line protocol: what it refuses, naming the line', () => {
  const cases: [string, string, RegExp][] = [
    ['missing fields', 'cpu', /missing fields/],
    ['missing fields after tags', 'cpu,host=a', /missing fields/],
    ['missing field value', 'cpu v=', /missing field value/],
    ['missing field key', 'cpu =1', /missing field key/],
    ['trailing comma in fields', 'cpu v=1,', /missing field key/],
    ['missing "=" after field key', 'cpu v', /missing "=" after field key/],
    ['empty tag value', 'cpu,host= v=1', /missing tag value/],
    ['tag without "="', 'cpu,host v=1', /missing tag value/],
    ['empty tag key', 'cpu,=a v=1', /missing tag key/],
    ['unescaped = in tag value', 'cpu,host=a=b v=1', /unescaped "="/],
    ['duplicate tag', 'cpu,a=1,a=2 v=1', /duplicate tag key/],
    ['duplicate field', 'cpu v=1,v=2', /duplicate field key/],
    ['missing measurement', ',host=a v=1', /missing measurement/],
    ['bad float', 'cpu v=1.2.3', /invalid field value/],
    ['NaN', 'cpu v=NaN', /invalid field value/],
    ['Infinity word', 'cpu v=Inf', /invalid field value/],
    ['float overflow', 'cpu v=1e999', /out of range/],
    ['plus sign', 'cpu v=+1', /invalid field value/],
    ['hex', 'cpu v=0x10', /invalid field value/],
    ['int64 overflow', 'cpu v=9223372036854775808i', /invalid integer/],
    ['int64 underflow', 'cpu v=-9223372036854775809i', /invalid integer/],
    ['float with i', 'cpu v=1.5i', /invalid integer/],
    ['negative unsigned', 'cpu v=-1u', /invalid unsigned/],
    ['uint64 overflow', 'cpu v=18446744073709551616u', /invalid unsigned/],
    ['bare word', 'cpu v=yes', /invalid field value/],
    ['single-quoted string', "cpu v='a'", /invalid field value/],
    ['unterminated string', 'cpu v="abc', /unbalanced quotes/],
    ['text after a string', 'cpu v="a"b', /invalid field format/],
    ['bad timestamp', 'cpu v=1 12ab', /bad timestamp/],
    ['float timestamp', 'cpu v=1 1.5', /bad timestamp/],
    ['int64 timestamp overflow', 'cpu v=1 9223372036854775808', /bad timestamp/],
    ['text after timestamp', 'cpu v=1 1 2', /unexpected text after the timestamp/],
    ['space in tag set', 'cpu,a=1 ,b=2 v=1', /missing field key/],
  ];
  for (const [name, text, reason] of cases) {
    it(`${name}: ${JSON.stringify(text)}`, () => {
      const e = failure(`ok v=1\n${text}\nok v=2`);
      expect(e?.message).toMatch(reason);
      expect(e?.context.line).toBe(2);
      expect(e?.message).toMatch(/^line 2: unable to parse '/);
    });
  }

  it('refuses a string field value longer than 64 KiB', () => {
    expect(failure(`m s="${'x'.repeat(65_537)}"`)?.message).toMatch(/longer than 65536 bytes/);
    expect(failure(`m s="${'é'.repeat(32_769)}"`)?.message).toMatch(/longer than 65536 bytes/);
    expect(failure(`m s="${'x'.repeat(65_536)}"`)).toBeUndefined();
  });

  it('cuts a long bad line to 200 characters in the message', () => {
    const e = failure(`m${'x'.repeat(10_000)} v=`);
    expect(e?.message.length).toBeLessThan(400);
  });

  it('stops at maxPoints counting each field as a point', () => {
    expect(failure('m a=1,b=2\nm a=1', 3)).toBeUndefined();
    const e = failure('m a=1,b=2\nm a=1,b=2', 3);
    expect(e?.context.tooManyPoints).toBe(true);
    expect(e?.context.line).toBe(2);
  });
});

describe('line protocol: hostile input', () => {
  it('survives large and odd bodies without hanging or throwing anything but FormatError', () => {
    const hostile = [
      '\\'.repeat(100_000),
      ','.repeat(100_000),
      `m ${'v=1,'.repeat(50_000)}`,
      `m,${'a=1,'.repeat(20_000)}b=2 v=1`,
      '"'.repeat(100_000),
      `m v="${'\\"'.repeat(50_000)}`,
      '\u0000\u0000 v=1',
      '\r\r\r\n\r',
      `${'\n'.repeat(100_000)}m v=`,
      'm v=1 -',
      'm v=-',
      'm v=i',
      'm v=u',
      'm v=-i',
      'm\\',
      'm v=1\\',
    ];
    for (const text of hostile) {
      const started = performance.now();
      try {
        parseLineProtocol(text);
      } catch (error) {
        expect(error, JSON.stringify(text.slice(0, 40))).toBeInstanceOf(FormatError);
      }
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });

  it('reports the right line after 100,000 blank lines', () => {
    expect(failure(`${'\n'.repeat(100_000)}m v=`)?.context.line).toBe(100_001);
  });

  it('a tag named __proto__ is just a tag', () => {
    const [p] = parseLineProtocol('m,__proto__=x,constructor=y v=1');
    expect(p?.tags).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
  });

  it('parses 100,000 lines in seconds, not minutes (no quadratic path)', () => {
    const body = Array.from(
      { length: 100_000 },
      (_, i) => `cpu,host=h${i % 10} usage=${i}.5,n=${i}i ${i}`,
    ).join('\n');
    const started = performance.now();
    expect(parseLineProtocol(body)).toHaveLength(100_000);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

// ---- round trip: whatever a writer can express, escaped, parses back to itself ----

const CHARS = ['a', 'Z', '0', '_', '.', '-', ',', ' ', '=', '\\', '"', '#', '\t', 'é', '漢', '😀', "'"];
const text = (min: number) => fc.string({ unit: fc.constantFrom(...CHARS), minLength: min, maxLength: 12 });
const escapeName = (s: string, extra: string) =>
  s.replace(new RegExp(`[\\\\, ${extra}]`, 'g'), (c) => `\\${c}`);

const fieldArb: fc.Arbitrary<LineField> = fc.oneof(
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((v) => ({ key: '', kind: 'float' as const, value: Object.is(v, -0) ? 0 : v })),
  fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map((v) => ({ key: '', kind: 'integer' as const, value: v })),
  fc.bigInt(0n, 2n ** 64n - 1n).map((v) => ({ key: '', kind: 'unsigned' as const, value: v })),
  fc
    .string({ unit: fc.constantFrom(...CHARS, '\n'), maxLength: 20 })
    .map((v) => ({ key: '', kind: 'string' as const, value: v })),
  fc.boolean().map((v) => ({ key: '', kind: 'boolean' as const, value: v })),
);

function serialize(p: ParsedLine): string {
  const m = escapeName(p.measurement, '');
  const tags = p.tags.map(([k, v]) => `,${escapeName(k, '=')}=${escapeName(v, '=')}`).join('');
  const fields = p.fields
    .map((f) => {
      const key = escapeName(f.key, '=');
      if (f.kind === 'string') return `${key}="${String(f.value).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
      if (f.kind === 'integer') return `${key}=${f.value}i`;
      if (f.kind === 'unsigned') return `${key}=${f.value}u`;
      return `${key}=${String(f.value)}`;
    })
    .join(',');
  return `${m}${tags} ${fields}${p.timestamp === undefined ? '' : ` ${p.timestamp}`}`;
}

/** Integers compare by value whether they came back as number or bigint. */
const normal = (f: LineField) => ({
  ...f,
  value:
    typeof f.value === 'bigint' || f.kind === 'integer' || f.kind === 'unsigned' ? String(f.value) : f.value,
});

describe('line protocol: property', () => {
  it('parse(serialize(point)) gives the point back', () => {
    const pointArb = fc
      .record({
        measurement: text(1).filter((s) => !/^[#\t]/.test(s)),
        tags: fc.uniqueArray(fc.tuple(text(1), text(1)), { selector: ([k]) => k, maxLength: 4 }),
        fields: fc.uniqueArray(fc.tuple(text(1), fieldArb), {
          selector: ([k]) => k,
          minLength: 1,
          maxLength: 4,
        }),
        timestamp: fc.option(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), { nil: undefined }),
      })
      .map(
        (r): ParsedLine => ({
          line: 1,
          measurement: r.measurement,
          tags: r.tags,
          fields: r.fields.map(([key, f]) => ({ ...f, key })),
          timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
        }),
      );
    fc.assert(
      fc.property(fc.array(pointArb, { minLength: 1, maxLength: 5 }), (points) => {
        const body = points.map(serialize).join('\n');
        const parsed = parseLineProtocol(body);
        expect(parsed.length).toBe(points.length);
        parsed.forEach((p, i) => {
          const want = points[i] as ParsedLine;
          expect(p.measurement).toBe(want.measurement);
          expect(p.tags).toEqual(want.tags);
          expect(p.fields.map(normal)).toEqual(want.fields.map(normal));
          expect(p.timestamp).toBe(want.timestamp);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but FormatError on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...CHARS, '\n', '\r', '1', 'i', 'u', 't', 'e') }),
        (s) => {
          try {
            parseLineProtocol(s);
          } catch (error) {
            if (!(error instanceof FormatError)) throw error;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
