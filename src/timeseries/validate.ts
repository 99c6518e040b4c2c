/**
 * Point validation and timestamp parsing. Everything a point carries is checked before any byte
 * of its batch reaches the log, so a rejected batch leaves the store exactly as it was.
 */
import { InvalidPointError } from '../errors.ts';
import { isSensitiveName, LOG_SENSITIVE_PARAMS, maskSensitiveData, mayHoldSecrets } from '../secrets/mask.ts';
import type { PointValue, TimestampInput } from './types.ts';

const MAX_VARIABLE_BYTES = 256;
// Control characters (C0, DEL, C1) are invisible in listings and break line-based exports.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Returns why `name` is not a valid variable name, or undefined when it is. */
export function variableNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, got ${typeof name}`;
  if (name.length === 0) return 'must not be empty';
  if (Buffer.byteLength(name) > MAX_VARIABLE_BYTES) return `is longer than ${MAX_VARIABLE_BYTES} bytes`;
  if (CONTROL.test(name)) return 'contains a control character';
  // A lone surrogate has no UTF-8 form: the log and segments would store U+FFFD instead.
  if (!name.isWellFormed()) return 'is not well-formed Unicode (it contains a lone surrogate)';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  if (name === '.' || name === '..' || name.startsWith('..')) return 'looks like a path traversal';
  return undefined;
}

export function assertVariableName(name: unknown, where = ''): asserts name is string {
  const problem = variableNameProblem(name);
  if (problem !== undefined) {
    throw new InvalidPointError(`Invalid variable name ${JSON.stringify(name)}${where}: ${problem}`, {
      context: { variable: String(name) },
    });
  }
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Epoch numbers below this are milliseconds, above it microseconds (1e14 ms is year 5138). */
const MICROS_THRESHOLD = 1e14;
/** ±(2^53 − 1) µs is about ±285 years around 1970: every stored timestamp is an exact integer. */
const MAX_MICROS = Number.MAX_SAFE_INTEGER;

/** The last timestamp text parseTimestamp accepted, and its value. */
let lastText = '';
let lastTextMicros = 0;

/**
 * Parses a timestamp to integer microseconds since the epoch (UTC). ISO strings without an
 * offset are UTC (never the machine's local time); fractions keep microseconds.
 */
export function parseTimestamp(input: TimestampInput): number | undefined {
  let micros: number;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return undefined;
    micros = Math.abs(input) < MICROS_THRESHOLD ? Math.round(input * 1000) : Math.round(input);
  } else if (typeof input === 'bigint') {
    micros = Number(input);
  } else if (input instanceof Date) {
    micros = input.getTime() * 1000;
  } else if (typeof input === 'string') {
    // Points of one instant (many sensors read together) share their timestamp text; JSON.parse
    // interns short strings, so this is mostly a pointer compare.
    if (input === lastText) return lastTextMicros;
    const parsed = parseIsoUtcFast(input) ?? parseIso(input.trim());
    if (parsed === undefined || !(Math.abs(parsed) <= MAX_MICROS)) return undefined;
    lastText = input;
    lastTextMicros = parsed;
    return parsed;
  } else {
    return undefined;
  }
  if (!Number.isFinite(micros) || Math.abs(micros) > MAX_MICROS) return undefined;
  return micros;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digit at `i` (0–9), or -1 when it is not one. */
function digitAt(text: string, i: number): number {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

/** The two-digit number at `i`, or -1. */
function twoDigits(text: string, i: number): number {
  const a = digitAt(text, i);
  const b = digitAt(text, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * The minute the fast path last read, as its text (`YYYY-MM-DDTHH:MM:`, already validated) and
 * its epoch ms. Timestamps arrive in order, mostly many per minute: a prefix compare then
 * replaces reading and checking the date and Date.UTC (about 3 of every 4 ns the parse took).
 */
let minuteText = '\0';
let minuteMs = 0;

/**
 * The usual form, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read without a regular expression (timestamps
 * of parsed points are mostly this; the regex path cost 0.9 s per million). Undefined for anything
 * else — other forms, years before 100, a leap second — which parseIso then decides, so both give
 * the same answer for every input.
 */
function parseIsoUtcFast(text: string): number | undefined {
  const n = text.length;
  const last = text.charCodeAt(n - 1);
  if (n < 20 || (last !== 90 && last !== 122)) return undefined; // Z, z
  const base = text.startsWith(minuteText) ? minuteMs : minuteOf(text);
  if (base === undefined) return undefined;
  const sec = twoDigits(text, 17);
  if (sec < 0 || sec > 59) return undefined;
  let frac = 0;
  if (n > 20) {
    const dot = text.charCodeAt(19);
    const digits = n - 21;
    if ((dot !== 46 && dot !== 44) || digits < 1 || digits > 9) return undefined;
    for (let i = 0; i < digits; i++) {
      const d = digitAt(text, 20 + i);
      if (d < 0) return undefined;
      if (i < 6) frac = frac * 10 + d;
    }
    for (let i = digits; i < 6; i++) frac *= 10;
  }
  return (base + sec * 1000) * 1000 + frac;
}

/** Epoch ms of the minute `YYYY-MM-DD[T ]HH:MM:` that `text` starts with (remembered), or undefined. */
function minuteOf(text: string): number | undefined {
  const sep = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32)) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const hi = twoDigits(text, 0);
  const lo = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const h = twoDigits(text, 11);
  const mi = twoDigits(text, 14);
  if (hi < 1 || lo < 0 || month < 1 || month > 12 || day < 1 || h < 0 || h > 23 || mi < 0 || mi > 59)
    return undefined;
  const year = hi * 100 + lo;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  minuteMs = Date.UTC(year, month - 1, day, h, mi);
  minuteText = text.slice(0, 17);
  return minuteMs;
}

function parseIso(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) {
    // Relative forms like "now" are a CLI concern; anything else Date can read is accepted.
    return undefined;
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return undefined;
  }
  const ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  // Date.UTC rolls 31 Feb over to March: reject instead of storing a different day.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  let micros = ms * 1000 + Number(frac.padEnd(6, '0').slice(0, 6) || '0');
  if (tz && tz !== 'Z' && tz !== 'z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    micros -= sign * offsetMin * 60_000_000;
  }
  return micros;
}

let cachedMinute = Number.NaN;
let cachedPrefix = '';

/** ISO 8601 UTC with microseconds: 2024-01-02T03:04:05.123456Z. The minute prefix is cached. */
export function formatMicros(micros: number): string {
  const minute = Math.floor(micros / 60_000_000);
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    cachedPrefix = new Date(minute * 60_000).toISOString().slice(0, 17); // YYYY-MM-DDTHH:MM:
  }
  const rest = micros - minute * 60_000_000; // 0 … 59_999_999
  const sec = Math.floor(rest / 1_000_000);
  const frac = rest - sec * 1_000_000;
  return `${cachedPrefix}${sec < 10 ? '0' : ''}${sec}.${String(frac).padStart(6, '0')}Z`;
}

export function valueProblem(value: unknown): string | undefined {
  if (value === null) return undefined;
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? undefined : `is not a finite number (${value})`;
    case 'string':
    case 'boolean':
      return undefined;
    default:
      return `must be a number, string, boolean or null, got ${typeof value}`;
  }
}

export function isPointValue(value: unknown): value is PointValue {
  return valueProblem(value) === undefined;
}

/**
 * Serialises metadata once, checking it is a plain JSON object that round-trips: no functions,
 * undefined, BigInt, cycles, non-finite numbers or class instances inside.
 */
export function encodeMetadata(meta: unknown): string {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new Error('must be a JSON object');
  }
  if (isFlatPlain(meta)) return encodeFlatMetadata(meta);
  checkJson(meta, 0, new Set());
  // Metadata is masked by name as ingestion metadata is (`auth.password`, `X-Api-Key`…): a
  // credential carried along with a point is not data, and would sit in the WAL and segments.
  return JSON.stringify(maskSensitiveData(meta, LOG_SENSITIVE_PARAMS));
}

/**
 * A plain object whose values are all strings, finite numbers, booleans or null — metadata as it
 * usually comes (`{unit, source, quality}`), which needs no deep walk to be known valid.
 */
export function isFlatPlain(meta: object): boolean {
  const proto = Object.getPrototypeOf(meta);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in meta) {
    const v = (meta as Record<string, unknown>)[key];
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) continue;
    if (typeof v === 'number' && Number.isFinite(v)) continue;
    return false;
  }
  return true;
}

/**
 * Masked JSON of flat metadata by its raw JSON. Points parsed from JSON each bring their own
 * object, but the same few contents again and again; masking walks every name and string.
 */
const maskedByRaw = new Map<string, string>();

/** Whether a metadata key is a sensitive name (the log's list, which never changes), by key. */
const sensitiveKeys = new Map<string, boolean>();

/**
 * Whether masking leaves flat metadata exactly as it is: no key with a sensitive name holds a
 * value masking replaces (anything but null or ''), and no string may hold a secret by the very
 * test masking uses to leave a string alone. Metadata of 10,000 sensors is mostly new JSON the
 * first time each is met; walking each through the masker cost more than encoding it.
 */
function flatNeedsNoMask(meta: object): boolean {
  for (const key in meta) {
    const v = (meta as Record<string, unknown>)[key];
    let sensitive = sensitiveKeys.get(key);
    if (sensitive === undefined) {
      sensitive = isSensitiveName(key, LOG_SENSITIVE_PARAMS);
      if (sensitiveKeys.size >= 4096) sensitiveKeys.clear();
      sensitiveKeys.set(key, sensitive);
    }
    if (sensitive && v !== null && v !== '') return false;
    if (typeof v === 'string' && mayHoldSecrets(v)) return false;
  }
  return true;
}

/** encodeMetadata for an object isFlatPlain accepted. */
export function encodeFlatMetadata(meta: object): string {
  const raw = JSON.stringify(meta);
  let json = maskedByRaw.get(raw);
  if (json === undefined) {
    json = flatNeedsNoMask(meta) ? raw : JSON.stringify(maskSensitiveData(meta, LOG_SENSITIVE_PARAMS));
    if (maskedByRaw.size >= 65_536) maskedByRaw.clear();
    maskedByRaw.set(raw, json);
  }
  return json;
}

function checkJson(v: unknown, depth: number, seen: Set<object>): void {
  if (depth > 64) throw new Error('is nested deeper than 64 levels');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`contains a non-finite number (${v})`);
    return;
  }
  if (typeof v !== 'object') throw new Error(`contains a ${typeof v}, which JSON cannot hold`);
  if (seen.has(v)) throw new Error('contains a cycle');
  seen.add(v);
  if (Array.isArray(v)) {
    for (const item of v) checkJson(item, depth + 1, seen);
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new Error(`contains a ${proto?.constructor?.name ?? 'non-plain'} object; use plain objects`);
    }
    for (const key of Object.keys(v)) {
      const item = (v as Record<string, unknown>)[key];
      if (item === undefined) throw new Error(`has key ${JSON.stringify(key)} set to undefined`);
      checkJson(item, depth + 1, seen);
    }
  }
  seen.delete(v);
}
