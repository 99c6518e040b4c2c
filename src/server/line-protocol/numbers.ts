/** Number and boolean forms of line protocol field values and timestamps, read without loss. */

export type FieldKind = 'float' | 'integer' | 'unsigned' | 'string' | 'boolean';

export const INT64_MAX = '9223372036854775807';
export const INT64_MIN_ABS = '9223372036854775808';
const UINT64_MAX = '18446744073709551615';

export const FLOAT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
export const TRUE_WORDS: ReadonlySet<string> = new Set(['t', 'T', 'true', 'True', 'TRUE']);
export const FALSE_WORDS: ReadonlySet<string> = new Set(['f', 'F', 'false', 'False', 'FALSE']);

/** `digits` from `start` to `end` (no sign) is at most `limit`, both decimal; leading zeros allowed. */
export function withinLimit(digits: string, limit: string, start = 0, end = digits.length): boolean {
  let i = start;
  while (i < end - 1 && digits.charCodeAt(i) === 48) i++;
  const length = end - i;
  if (length !== limit.length) return length < limit.length;
  for (let k = 0; k < length; k++) {
    const a = digits.charCodeAt(i + k);
    const b = limit.charCodeAt(k);
    if (a !== b) return a < b;
  }
  return true;
}

/** Whether `text` from `start` to `end` is one or more decimal digits. */
export function allDigits(text: string, start = 0, end = text.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

/** An int64 (`signed`) or uint64 integer: a number when exact as a double, else a bigint. */
export function readInteger(text: string, signed: boolean): number | bigint | undefined {
  const negative = signed && text.charCodeAt(0) === 45;
  const start = negative ? 1 : 0;
  if (!allDigits(text, start)) return undefined;
  if (!withinLimit(text, signed ? (negative ? INT64_MIN_ABS : INT64_MAX) : UINT64_MAX, start))
    return undefined;
  if (text.length - start <= 15) return Number(text);
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Whether `text` from `start` to `end` is an int64 in decimal (a timestamp), read in place. */
export function isInt64(text: string, start = 0, end = text.length): boolean {
  const from = text.charCodeAt(start) === 45 ? start + 1 : start;
  if (!allDigits(text, from, end)) return false;
  // Up to 18 digits always fit an int64; longer ones are compared with its limit.
  return end - from <= 18 || withinLimit(text, from > start ? INT64_MIN_ABS : INT64_MAX, from, end);
}

/** Where readPlainNumber puts what it read. */
export interface PlainNumber {
  kind: FieldKind;
  value: number;
}

const COMMA = 44;
const SPACE = 32;
const NL = 10;
const CR = 13;

/**
 * The common number forms read in place, with no string made: `-12.5`, `3`, `.5`, `42i`, `7u`
 * with at most 15 digits and no exponent, ending the field. A mantissa below 2^53 divided by an
 * exact power of ten is correctly rounded, so the value is exactly what Number() gives. Returns
 * the position after the number, or -1 when it is not such a number (the caller reads it the
 * long way, which also names what is wrong).
 */
export function readPlainNumber(text: string, pos: number, out: PlainNumber): number {
  let p = pos;
  const negative = text.charCodeAt(p) === 45;
  if (negative) p++;
  let mantissa = 0;
  let digits = 0;
  let decimals = -1;
  for (; ; p++) {
    const c = text.charCodeAt(p);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === 46 && decimals < 0) decimals = 0;
    else break;
  }
  if (digits === 0 || digits > 15) return -1;
  let kind: FieldKind = 'float';
  const suffix = text.charCodeAt(p);
  if ((suffix === 105 || (suffix === 117 && !negative)) && decimals < 0) {
    kind = suffix === 105 ? 'integer' : 'unsigned';
    p++;
  }
  const next = text.charCodeAt(p);
  const ends =
    p >= text.length ||
    next === COMMA ||
    next === SPACE ||
    next === NL ||
    (next === CR && text.charCodeAt(p + 1) === NL);
  if (!ends) return -1;
  const magnitude = decimals > 0 ? mantissa / 10 ** decimals : mantissa;
  out.kind = kind;
  out.value = negative ? -magnitude : magnitude;
  return p;
}

/** Where readScalar puts what it read. */
export interface Scalar {
  kind: FieldKind;
  value: number | bigint | boolean;
}

/**
 * An unquoted field value (the long way, for what readPlainNumber leaves): an int64 `i`, a uint64
 * `u`, a boolean word or a float. Returns why it is not one, or undefined with `out` set.
 */
export function readScalar(token: string, key: string, out: Scalar): string | undefined {
  const field = JSON.stringify(key);
  if (token === '') return `missing field value for field key ${field}`;
  const last = token.charCodeAt(token.length - 1);
  if ((last === 105 /* i */ || last === 117) /* u */ && token.length > 1) {
    const signed = last === 105;
    const value = readInteger(token.slice(0, -1), signed);
    if (value === undefined)
      return `invalid ${signed ? 'integer' : 'unsigned integer'} ${JSON.stringify(token)} in field ${field}`;
    out.kind = signed ? 'integer' : 'unsigned';
    out.value = value;
    return undefined;
  }
  if (TRUE_WORDS.has(token) || FALSE_WORDS.has(token)) {
    out.kind = 'boolean';
    out.value = TRUE_WORDS.has(token);
    return undefined;
  }
  if (!FLOAT.test(token)) return `invalid field value ${JSON.stringify(token)} for field ${field}`;
  const value = Number(token);
  if (!Number.isFinite(value)) return `float ${token} of field ${field} is out of range`;
  out.kind = 'float';
  out.value = value;
  return undefined;
}
