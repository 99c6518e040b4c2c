/**
 * Numbers typed as text — command-line values, CSV cells, JSON number literals — read only when
 * the text is a plain decimal literal whose value a double holds as written. `Number()` also
 * takes '' (as 0), ' 12 ', '0x1F', '0b11' and 'Infinity', and turns 1e999 into Infinity, 1e-400
 * into 0 and 9007199254740993 into 9007199254740992: each would store a value nobody typed.
 */

// Optional sign, digits with an optional fraction (or a fraction alone), optional exponent.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** Whether `text` is a plain decimal literal (whatever its value): 12, -0.5, .5, 1e3. */
export function isDecimalLiteral(text: string): boolean {
  return DECIMAL.test(text);
}

export type DecimalReading = { value: number; problem?: undefined } | { value?: undefined; problem: string };

/**
 * The number `text` denotes, or why it is not one: not a plain decimal literal, beyond a double's
 * range, a non-zero too small for a double, or an integer literal (digits only) that the double
 * it becomes neither equals nor prints as. Literals with a fraction or an exponent round to the nearest
 * double, as decimals do.
 */
export function readDecimal(text: string): DecimalReading {
  if (!DECIMAL.test(text)) return { problem: notDecimal(text) };
  const value = Number(text);
  if (!Number.isFinite(value)) return { problem: 'is beyond the range of a double (about ±1.8e308)' };
  if (value === 0 && /[1-9]/.test(text.replace(/[eE].*$/, '')))
    return { problem: 'is too small for a double (it would be stored as 0)' };
  if (INTEGER.test(text) && !Number.isSafeInteger(value)) {
    // Beyond 2^53 a double holds only some integers. Accept the literal when the double is that
    // integer (2^60) or prints as it (43862177132374730, the shortest text of its double);
    // refuse it when it would come back as another one (9007199254740993 prints ...992).
    const typed = BigInt(text);
    const stored = plainDecimal(String(value));
    if (BigInt(value) !== typed && BigInt(stored) !== typed)
      return { problem: `is an integer that a double cannot hold (it would be stored as ${stored})` };
  }
  return { value };
}

/** A number's text without exponent: `1e+21` → `1000000000000000000000`, `1.5e-7` → `0.00000015`. */
export function plainDecimal(text: string): string {
  const m = /^([+-]?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(text);
  if (!m) return text;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const digits = int + frac;
  const point = int.length + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Whether `text` is what people write for a non-finite number: NaN, Infinity, inf, with a sign. */
export function isNonFiniteWord(text: string): boolean {
  return /^[+-]?(?:nan|inf|infinity)$/i.test(text.trim());
}

function notDecimal(text: string): string {
  if (text.trim() === '') return 'is empty';
  if (isNonFiniteWord(text)) return 'is not a finite number';
  if (text.trim() !== text) return 'has spaces around it';
  if (/^[+-]?0[xXoObB]/.test(text)) return 'is not decimal (hex, octal and binary are not accepted)';
  return 'is not a plain decimal number';
}
