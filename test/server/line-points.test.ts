import { describe, expect, it } from 'vitest';
import { FormatError, type SluiceError } from '../../src/errors.ts';
import {
  lineProtocolPoints,
  type Precision,
  readPrecision,
  timestampMicros,
} from '../../src/server/line-protocol/points.ts';

const NOW = 1_700_000_000_000_000;
const convert = (text: string, precision: Precision = 'ns') =>
  lineProtocolPoints(text, { precision, nowMicros: NOW });

function failure(text: string, precision: Precision = 'ns'): SluiceError {
  try {
    convert(text, precision);
  } catch (error) {
    expect(error).toBeInstanceOf(FormatError);
    return error as SluiceError;
  }
  throw new Error(`${text} was accepted`);
}

describe('line protocol → points', () => {
  it('makes <measurement>.<field> variables with the tags as metadata', () => {
    expect(convert('cpu,host=a,dc=x usage=1.5,idle=3i,up=true,name="n" 1700000000000000000')).toEqual([
      {
        variable: 'cpu.usage',
        timestamp: 1_700_000_000_000_000,
        value: 1.5,
        metadata: { host: 'a', dc: 'x' },
      },
      { variable: 'cpu.idle', timestamp: 1_700_000_000_000_000, value: 3, metadata: { host: 'a', dc: 'x' } },
      { variable: 'cpu.up', timestamp: 1_700_000_000_000_000, value: true, metadata: { host: 'a', dc: 'x' } },
      {
        variable: 'cpu.name',
        timestamp: 1_700_000_000_000_000,
        value: 'n',
        metadata: { host: 'a', dc: 'x' },
      },
    ]);
  });

  it('stamps lines without a timestamp with the one instant of the request, and no tags as null metadata', () => {
    const points = convert('m a=1\nm b=2');
    expect(points.map((p) => [p.timestamp, p.metadata])).toEqual([
      [NOW, null],
      [NOW, null],
    ]);
  });

  it('shares one metadata object among the points of one series', () => {
    const [a, b, c] = convert('m,h=1 a=1\nm,h=1 a=2\nm,h=2 a=3');
    expect(a?.metadata).toBe(b?.metadata);
    expect(c?.metadata).not.toBe(a?.metadata);
  });

  it('keeps a tag named __proto__ as data, not as a prototype', () => {
    const [p] = convert('m,__proto__=x v=1');
    expect(Object.getPrototypeOf(p?.metadata)).toBe(Object.prototype);
    expect(Object.keys(p?.metadata ?? {})).toEqual(['__proto__']);
  });

  it('converts every precision to microseconds, flooring nanoseconds', () => {
    expect(timestampMicros('1700000000123456789', 'ns')).toBe(1_700_000_000_123_456);
    expect(timestampMicros('999', 'ns')).toBe(0);
    expect(timestampMicros('-1', 'ns')).toBe(-1);
    expect(timestampMicros('-1000', 'ns')).toBe(-1);
    expect(timestampMicros('-1001', 'ns')).toBe(-2);
    expect(timestampMicros('1700000000123456', 'us')).toBe(1_700_000_000_123_456);
    expect(timestampMicros('1700000000123', 'ms')).toBe(1_700_000_000_123_000);
    expect(timestampMicros('1700000000', 's')).toBe(1_700_000_000_000_000);
    expect(timestampMicros('2', 'm')).toBe(120_000_000);
    expect(timestampMicros('2', 'h')).toBe(7_200_000_000);
  });

  it('passes early instants so the store cannot read them as milliseconds', () => {
    // 1 s after the epoch in µs is 1,000,000: as a plain number the store would read ms.
    const [p] = convert('m v=1 1', 's');
    expect(p?.timestamp).toBe(1_000_000n);
  });

  it('refuses instants the store cannot keep exactly, naming the line', () => {
    const e = failure('m v=1 1\nm v=1 9223372036854775807', 'ns');
    expect(e.context.line).toBe(2);
    expect(e.message).toMatch(/outside the range/);
    expect(failure('m v=1 9007199254741', 's').message).toMatch(/outside the range/);
    expect(failure('m v=1 -9223372036854775808').message).toMatch(/outside the range/);
  });

  it('refuses integers a double cannot hold exactly, and takes those it can', () => {
    expect(failure('m v=9007199254740993i').message).toMatch(/does not fit a double exactly/);
    expect(failure('m v=18446744073709551615u').message).toMatch(/does not fit a double exactly/);
    expect(convert('m v=9007199254740991i')[0]?.value).toBe(9_007_199_254_740_991);
    expect(convert('m v=-9007199254740991i')[0]?.value).toBe(-9_007_199_254_740_991);
  });

  it('refuses variable names the store refuses (separators, traversal, control characters)', () => {
    expect(failure('cpu/0 v=1').message).toMatch(/path separator/);
    expect(failure('m v=1\nm x\\\\y=1').message).toMatch(/line 2: .*path separator/);
    expect(failure('.. .=1').message).toMatch(/path traversal/);
    expect(failure('m\u0001 v=1').message).toMatch(/control character/);
    expect(failure(`${'m'.repeat(300)} v=1`).message).toMatch(/longer than 256 bytes/);
  });

  it('reads the precision parameter of each API', () => {
    expect(readPrecision(undefined, 'v2')).toBe('ns');
    expect(readPrecision('us', 'v2')).toBe('us');
    expect(readPrecision('u', 'v2')).toBeUndefined();
    expect(readPrecision('h', 'v2')).toBeUndefined();
    expect(readPrecision('u', 'v1')).toBe('us');
    expect(readPrecision('n', 'v1')).toBe('ns');
    expect(readPrecision('h', 'v1')).toBe('h');
    expect(readPrecision('x', 'v1')).toBeUndefined();
  });
});

describe('fast paths read exactly what the slow paths read', () => {
  it('plain numbers read in place equal Number() of their text', async () => {
    const { readPlainNumber } = await import('../../src/server/line-protocol/numbers.ts');
    const fc = (await import('fast-check')).default;
    const decimal = fc
      .tuple(
        fc.boolean(),
        fc.stringMatching(/^\d{0,9}$/),
        fc.option(fc.stringMatching(/^\d{0,8}$/), { nil: undefined }),
      )
      .map(([neg, int, frac]) => `${neg ? '-' : ''}${int}${frac === undefined ? '' : `.${frac}`}`)
      .filter((s) => /\d/.test(s));
    fc.assert(
      fc.property(decimal, (text) => {
        const out = { kind: 'float' as const, value: Number.NaN } as { kind: string; value: number };
        const end = readPlainNumber(`${text} `, 0, out as never);
        const digits = text.replace(/\D/g, '').length;
        if (digits > 15) expect(end).toBe(-1);
        else {
          expect(end).toBe(text.length);
          expect(Object.is(out.value, Number(text))).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('nanosecond timestamps read in place floor to the microsecond like BigInt arithmetic', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), (ns) => {
        const floored = ns / 1000n - (ns % 1000n < 0n ? 1n : 0n);
        const safe = floored >= BigInt(Number.MIN_SAFE_INTEGER) && floored <= BigInt(Number.MAX_SAFE_INTEGER);
        try {
          const [p] = lineProtocolPoints(`m v=1 ${ns}`, { precision: 'ns', nowMicros: NOW });
          expect(safe).toBe(true);
          expect(BigInt(p?.timestamp as number | bigint)).toBe(floored);
        } catch (error) {
          expect(safe, String(error)).toBe(false);
          expect((error as Error).message).toMatch(/outside the range/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
