import { describe, expect, it } from 'vitest';
import { durationFlag, intFlag, numberFlag, portFlag, sizeFlag } from '../../src/cli/flags.ts';
import { readDecimal } from '../../src/util/decimal-text.ts';
import { parseSize } from '../../src/util/sizes.ts';
import fc from '../helpers/fc.ts';

/** The UsageError a parser throws for `value`, or undefined when it accepts it. */
function refusal(
  parse: (value: string) => unknown,
  value: string,
): { code?: string; message: string } | undefined {
  try {
    parse(value);
    return undefined;
  } catch (error) {
    return error as { code?: string; message: string };
  }
}

describe('flag parsers', () => {
  it('intFlag takes decimal whole numbers in range and names the flag and value otherwise', () => {
    const concurrency = intFlag('--concurrency', { min: 1 });
    expect(concurrency('8')).toBe(8);
    expect(concurrency('+8')).toBe(8);
    expect(intFlag('--retries', { min: 0, max: 20 })('0')).toBe(0);
    for (const bad of ['abc', '0', '-1', '', ' 8', '1.5', '1e3', '0x10', '9007199254740993', 'Infinity']) {
      const error = refusal(concurrency, bad);
      expect(error?.code, bad).toBe('E022');
      expect(error?.message).toBe(`--concurrency must be a whole number ≥ 1, got ${JSON.stringify(bad)}`);
    }
    expect(refusal(intFlag('--retries', { min: 0, max: 20 }), '21')?.message).toBe(
      '--retries must be a whole number from 0 to 20, got "21"',
    );
  });

  it('portFlag takes 0–65535', () => {
    const port = portFlag('--metrics-port');
    expect(port('0')).toBe(0);
    expect(port('65535')).toBe(65535);
    for (const bad of ['65536', '99999', '-1', 'http', '80.5'])
      expect(refusal(port, bad)?.message).toMatch(/^--metrics-port must be a port number from 0 to 65535/);
  });

  it('sizeFlag takes binary sizes in whole bytes', () => {
    const size = sizeFlag('--max-object-size');
    expect(size('512')).toBe(512);
    expect(size('64KiB')).toBe(65_536);
    expect(size('64kb')).toBe(65_536);
    expect(size('10MB')).toBe(10 * 1024 ** 2);
    expect(size('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(size('2TiB')).toBe(2 * 1024 ** 4);
    for (const bad of ['', 'MB', '10 parsecs', '-5MB', '1.1KB', '0x10', '0']) {
      const error = refusal(size, bad);
      expect(error?.code, bad).toBe('E022');
      expect(error?.message).toMatch(/^--max-object-size/);
      expect(error?.message).toContain(JSON.stringify(bad));
    }
  });

  it('durationFlag takes 250ms, 30s, 5m, 1h, 2d or bare seconds', () => {
    const interval = durationFlag('--interval', { positive: true });
    expect(interval('250ms')).toBe(250);
    expect(interval('30')).toBe(30_000);
    expect(interval('2d')).toBe(172_800_000);
    expect(durationFlag('--min-age')('0s')).toBe(0);
    for (const bad of ['5x', '', '-1s', '1 week', '0', '0ms']) {
      const error = refusal(interval, bad);
      expect(error?.code, bad).toBe('E022');
      expect(error?.message).toMatch(/^--interval/);
    }
  });

  it('numberFlag takes finite decimals within its bounds', () => {
    const scale = numberFlag('--scale', { above: 0, max: 100 });
    expect(scale('0.5')).toBe(0.5);
    expect(scale('100')).toBe(100);
    for (const bad of ['0', '100.5', 'NaN', '1e999', 'abc', ''])
      expect(refusal(scale, bad)?.message).toMatch(
        new RegExp(`^--scale must be a number > 0 and ≤ 100, got ${JSON.stringify(bad)}`),
      );
  });

  it('parseSize agrees with the poller on what KB means', () => {
    expect(parseSize('1KB')).toBe(1024);
    expect(parseSize('1k')).toBe(1024);
    expect(parseSize('1KiB')).toBe(1024);
  });
});

describe('readDecimal', () => {
  it('refuses what Number() would silently change', () => {
    const cases: [string, RegExp][] = [
      ['NaN', /not a finite number/],
      ['-Infinity', /not a finite number/],
      ['inf', /not a finite number/],
      ['', /empty/],
      [' 12 ', /spaces/],
      ['0x10', /not decimal/],
      ['0b11', /not decimal/],
      ['1_000', /not a plain decimal/],
      ['12abc', /not a plain decimal/],
      ['1e999', /beyond the range of a double/],
      ['-1e999', /beyond the range of a double/],
      ['1e-400', /too small for a double/],
      ['9007199254740993', /cannot hold \(it would be stored as 9007199254740992\)/],
      ['-9223372036854775807', /cannot hold \(it would be stored as -9223372036854776000\)/],
      ['100000000000000000001', /cannot hold \(it would be stored as 100000000000000000000\)/],
    ];
    for (const [text, problem] of cases) expect(readDecimal(text).problem, text).toMatch(problem);
  });

  it('reads plain decimals, -0, subnormals and integers a double holds', () => {
    expect(readDecimal('12').value).toBe(12);
    expect(readDecimal('+.5').value).toBe(0.5);
    expect(readDecimal('5.').value).toBe(5);
    expect(Object.is(readDecimal('-0').value, -0)).toBe(true);
    expect(readDecimal('0e5').value).toBe(0);
    expect(readDecimal('5e-324').value).toBe(5e-324);
    expect(readDecimal('9007199254740992').value).toBe(2 ** 53);
    expect(readDecimal('1152921504606846976').value).toBe(2 ** 60);
    // Not 2^53 + k exactly, but the double it becomes prints as these digits again.
    expect(readDecimal('43862177132374730').value).toBe(43862177132374730);
    expect(readDecimal('0.1').value).toBe(0.1);
  });

  it('property: every finite double reads back from its own text, every safe integer from its digits', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const text = Object.is(d, -0) ? '-0' : String(d); // String(-0) is "0"
        expect(Object.is(readDecimal(text).value, d)).toBe(true);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.maxSafeInteger(), (i) => {
        expect(readDecimal(String(i)).value).toBe(i);
      }),
    );
  });

  it('property: an integer literal beyond 2^53 is read only when its double equals it or prints as it', () => {
    fc.assert(
      // Below 1e21 String() and toFixed() print plain digits: the shortest text and the exact value
      // (the bound keeps Number(n) from rounding up to 1e21).
      fc.property(fc.bigInt({ min: 2n ** 53n, max: 10n ** 20n }), fc.boolean(), (big, negative) => {
        const n = negative ? -big : big;
        const d = Number(n);
        const read = readDecimal(n.toString());
        if (BigInt(d.toFixed()) === n || BigInt(String(d)) === n) expect(read.value).toBe(d);
        else expect(read.problem).toMatch(/cannot hold/);
      }),
      { numRuns: 3000 },
    );
  });
});
