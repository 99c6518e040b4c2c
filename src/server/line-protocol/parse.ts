/**
 * A strict parser of InfluxDB line protocol:
 *
 *   measurement[,tag=value…] field=value[,field=value…] [timestamp]
 *
 * Escapes: `\,` and `\ ` in the measurement; `\,`, `\=` and `\ ` in tag keys, tag values and
 * field keys; `\"` in string field values; `\\` everywhere. A backslash before any other
 * character is a literal backslash (as InfluxDB reads it). Field values: floats (`1`, `-1.5`,
 * `1e3`), integers (`1i`, int64), unsigned (`1u`, uint64), strings in double quotes (they may hold
 * newlines) and booleans (t, T, true, True, TRUE, f, F, false, False, FALSE). Timestamps are int64
 * in the request's precision. Blank lines and lines starting with `#` are skipped; `\r\n` ends a
 * line like `\n`.
 *
 * The whole body is parsed before anything is stored: the first bad line throws FormatError
 * (E021) with the line number in its context, and the caller stores nothing of the request.
 */
import { FormatError } from '../../errors.ts';

export type FieldKind = 'float' | 'integer' | 'unsigned' | 'string' | 'boolean';

export interface LineField {
  key: string;
  kind: FieldKind;
  /** Integers beyond ±2^53 stay bigint: they are exact here, and refused where stored as doubles. */
  value: number | bigint | string | boolean;
}

export interface ParsedLine {
  /** 1-based line of the body where the point starts. */
  line: number;
  measurement: string;
  /** Lines of one series share this array (do not modify it): callers can key caches on it. */
  tags: [string, string][];
  fields: LineField[];
  /** The timestamp's digits (int64, checked), in the request's precision; undefined: none given. */
  timestamp: string | undefined;
}

export interface ParseOptions {
  /**
   * Refuse the body once it holds more values than this: each field of a line is one stored
   * point. @default unlimited
   */
  maxPoints?: number;
}

/** Longest string field value, as InfluxDB limits it. */
export const MAX_STRING_FIELD_BYTES = 64 * 1024;

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const EQUALS = 61;
const BACKSLASH = 92;

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
const UINT64_MAX = '18446744073709551615';
const FLOAT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE_WORDS = new Set(['f', 'F', 'false', 'False', 'FALSE']);

/** What ends a name, and which characters a backslash escapes in it. */
interface NameRule {
  what: string;
  /** Stops at an unescaped `=` (keys do; the measurement and tag values do not). */
  stopAtEquals: boolean;
  escapesEquals: boolean;
}
const MEASUREMENT: NameRule = { what: 'measurement', stopAtEquals: false, escapesEquals: false };
const TAG_KEY: NameRule = { what: 'tag key', stopAtEquals: true, escapesEquals: true };
const TAG_VALUE: NameRule = { what: 'tag value', stopAtEquals: true, escapesEquals: true };
const FIELD_KEY: NameRule = { what: 'field key', stopAtEquals: true, escapesEquals: true };

/** Parses a whole body; throws FormatError naming the first bad line. */
export function parseLineProtocol(text: string, options: ParseOptions = {}): ParsedLine[] {
  return new LineParser(text, options.maxPoints ?? Number.POSITIVE_INFINITY).parse();
}

interface Series {
  measurement: string;
  tags: [string, string][];
}

class LineParser {
  private readonly seriesByRaw = new Map<string, Series>();
  private pos = 0;
  private line = 1;
  /** Start of the point being parsed, for messages. */
  private pointStart = 0;
  private pointLine = 1;

  private readonly text: string;
  private readonly maxPoints: number;

  constructor(text: string, maxPoints: number) {
    this.text = text;
    this.maxPoints = maxPoints;
  }

  parse(): ParsedLine[] {
    const points: ParsedLine[] = [];
    let values = 0;
    const t = this.text;
    while (this.pos < t.length) {
      this.skipBlanks();
      if (this.atEol()) {
        this.endLine();
        continue;
      }
      if (t.charCodeAt(this.pos) === HASH) {
        this.skipComment();
        continue;
      }
      this.pointStart = this.pos;
      this.pointLine = this.line;
      const point = this.point();
      values += point.fields.length;
      if (values > this.maxPoints) {
        throw new FormatError(
          `The body holds more than ${this.maxPoints} points (one per field) by line ${point.line}; send smaller batches`,
          { context: { line: point.line, tooManyPoints: true, maxPoints: this.maxPoints } },
        );
      }
      points.push(point);
    }
    return points;
  }

  private point(): ParsedLine {
    const { measurement, tags } = this.series();
    this.skipSpaces();
    if (this.atEol()) this.fail('missing fields');
    const fields = this.fields();
    let timestamp: string | undefined;
    if (this.code() === SPACE) {
      this.skipSpaces();
      if (!this.atEol()) {
        timestamp = this.timestamp();
        this.skipSpaces();
        if (!this.atEol()) this.fail('unexpected text after the timestamp');
      }
    } else if (!this.atEol()) this.fail('invalid field format');
    this.endLine();
    return { line: this.pointLine, measurement, tags, fields, timestamp };
  }

  /**
   * The measurement and tags, up to the space before the fields. Bodies repeat a few series many
   * times: the raw text of one parsed before maps to the same (shared) measurement and tags, so
   * a repeat costs one scan and one lookup instead of parsing and allocating its tags again.
   */
  private series(): Series {
    const t = this.text;
    let end = this.pos;
    for (;;) {
      const c = t.charCodeAt(end);
      if (end >= t.length || c === SPACE || c === NL || c === CR) break;
      end += c === BACKSLASH && t.charCodeAt(end + 1) !== NL && t.charCodeAt(end + 1) !== CR ? 2 : 1;
    }
    const raw = t.charCodeAt(end) === SPACE ? t.slice(this.pos, end) : undefined;
    const known = raw === undefined ? undefined : this.seriesByRaw.get(raw);
    if (known) {
      this.pos = end;
      return known;
    }
    const parsed = this.parseSeries();
    if (raw !== undefined && this.pos === end && this.seriesByRaw.size < 100_000)
      this.seriesByRaw.set(raw, parsed);
    return parsed;
  }

  private parseSeries(): Series {
    const measurement = this.name(MEASUREMENT);
    if (measurement === '') this.fail('missing measurement');
    const tags: [string, string][] = [];
    while (this.code() === COMMA) {
      this.pos++;
      const key = this.name(TAG_KEY);
      if (key === '') this.fail('missing tag key');
      if (this.code() !== EQUALS) this.fail(`missing tag value for tag key ${JSON.stringify(key)}`);
      this.pos++;
      const value = this.name(TAG_VALUE);
      if (value === '') this.fail(`missing tag value for tag key ${JSON.stringify(key)}`);
      if (this.code() === EQUALS) this.fail(`tag value of ${JSON.stringify(key)} holds an unescaped "="`);
      if (tags.some(([k]) => k === key)) this.fail(`duplicate tag key ${JSON.stringify(key)}`);
      tags.push([key, value]);
    }
    if (this.code() !== SPACE) this.fail(this.atEol() ? 'missing fields' : 'invalid tag format');
    return { measurement, tags };
  }

  private fields(): LineField[] {
    const fields: LineField[] = [];
    for (;;) {
      const key = this.name(FIELD_KEY);
      if (key === '') this.fail('missing field key');
      if (this.code() !== EQUALS) this.fail(`missing "=" after field key ${JSON.stringify(key)}`);
      this.pos++;
      const field = this.code() === QUOTE ? this.stringField(key) : this.scalarField(key);
      if (fields.some((f) => f.key === key)) this.fail(`duplicate field key ${JSON.stringify(key)}`);
      fields.push(field);
      if (this.code() !== COMMA) return fields;
      this.pos++;
    }
  }

  /** A name up to its unescaped terminator, with escapes resolved. */
  private name(rule: NameRule): string {
    const t = this.text;
    const start = this.pos;
    let out: string | undefined;
    let chunk = start;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === COMMA || c === SPACE || c === NL || (c === EQUALS && rule.stopAtEquals)) break;
      if (c === CR && t.charCodeAt(this.pos + 1) === NL) break;
      if (c === BACKSLASH) {
        const next = t.charCodeAt(this.pos + 1);
        if (
          next === COMMA ||
          next === SPACE ||
          next === BACKSLASH ||
          (next === EQUALS && rule.escapesEquals)
        ) {
          out = (out ?? '') + t.slice(chunk, this.pos) + t[this.pos + 1];
          this.pos += 2;
          chunk = this.pos;
          continue;
        }
      }
      this.pos++;
    }
    return out === undefined ? t.slice(start, this.pos) : out + t.slice(chunk, this.pos);
  }

  private stringField(key: string): LineField {
    const t = this.text;
    this.pos++; // opening quote
    let out = '';
    let chunk = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail(`unbalanced quotes in the value of field ${JSON.stringify(key)}`);
      const c = t.charCodeAt(this.pos);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const next = t.charCodeAt(this.pos + 1);
        if (next === QUOTE || next === BACKSLASH) {
          out += t.slice(chunk, this.pos) + t[this.pos + 1];
          this.pos += 2;
          chunk = this.pos;
          continue;
        }
      }
      if (c === NL) this.line++; // string values may span lines
      this.pos++;
    }
    out += t.slice(chunk, this.pos);
    this.pos++; // closing quote
    // UTF-16 length × 3 bounds the UTF-8 length: count bytes only when it could be over.
    if (out.length * 3 > MAX_STRING_FIELD_BYTES && Buffer.byteLength(out) > MAX_STRING_FIELD_BYTES) {
      this.fail(
        `string value of field ${JSON.stringify(key)} is longer than ${MAX_STRING_FIELD_BYTES} bytes`,
      );
    }
    const end = this.code();
    if (end !== COMMA && end !== SPACE && !this.atEol()) this.fail('invalid field format');
    return { key, kind: 'string', value: out };
  }

  private scalarField(key: string): LineField {
    const token = this.token();
    if (token === '') this.fail(`missing field value for field key ${JSON.stringify(key)}`);
    const last = token.charCodeAt(token.length - 1);
    if (last === 105 /* i */ && token.length > 1 && token !== 'i') {
      const digits = token.slice(0, -1);
      const value = readInteger(digits, true);
      if (value === undefined)
        this.fail(`invalid integer ${JSON.stringify(token)} in field ${JSON.stringify(key)}`);
      return { key, kind: 'integer', value };
    }
    if (last === 117 /* u */ && token.length > 1) {
      const value = readInteger(token.slice(0, -1), false);
      if (value === undefined)
        this.fail(`invalid unsigned integer ${JSON.stringify(token)} in field ${JSON.stringify(key)}`);
      return { key, kind: 'unsigned', value };
    }
    if (TRUE_WORDS.has(token)) return { key, kind: 'boolean', value: true };
    if (FALSE_WORDS.has(token)) return { key, kind: 'boolean', value: false };
    if (!FLOAT.test(token))
      this.fail(`invalid field value ${JSON.stringify(token)} for field ${JSON.stringify(key)}`);
    const value = Number(token);
    if (!Number.isFinite(value)) this.fail(`float ${token} of field ${JSON.stringify(key)} is out of range`);
    return { key, kind: 'float', value };
  }

  private timestamp(): string {
    const token = this.token();
    const negative = token.charCodeAt(0) === 45; // '-'
    const start = negative ? 1 : 0;
    let ok = token.length > start;
    for (let i = start; ok && i < token.length; i++) {
      const d = token.charCodeAt(i) - 48;
      ok = d >= 0 && d <= 9;
    }
    // Up to 18 digits always fit an int64; longer ones are compared with its limit.
    if (ok && token.length - start > 18) ok = withinLimit(token, negative ? INT64_MIN_ABS : INT64_MAX, start);
    if (!ok) this.fail(`bad timestamp ${JSON.stringify(token.slice(0, 40))}: it must be an int64 integer`);
    return token;
  }

  /** Characters up to the next comma, space or line end. */
  private token(): string {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === COMMA || c === SPACE || c === NL || (c === CR && t.charCodeAt(this.pos + 1) === NL)) break;
      this.pos++;
    }
    return t.slice(start, this.pos);
  }

  private code(): number {
    return this.text.charCodeAt(this.pos);
  }

  private atEol(): boolean {
    const c = this.text.charCodeAt(this.pos);
    return (
      this.pos >= this.text.length || c === NL || (c === CR && this.text.charCodeAt(this.pos + 1) === NL)
    );
  }

  private endLine(): void {
    if (this.text.charCodeAt(this.pos) === CR) this.pos++;
    if (this.pos < this.text.length) {
      this.pos++; // the newline
      this.line++;
    }
  }

  private skipBlanks(): void {
    while (this.code() === SPACE || this.code() === TAB) this.pos++;
  }

  private skipSpaces(): void {
    while (this.code() === SPACE) this.pos++;
  }

  private skipComment(): void {
    const nl = this.text.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.text.length : nl;
    this.endLine();
  }

  /** InfluxDB's wording: `unable to parse '<line>': <reason>`, the line cut to 200 characters. */
  private fail(reason: string): never {
    const end = this.text.indexOf('\n', this.pointStart);
    let shown = this.text.slice(this.pointStart, end < 0 ? this.text.length : end).replace(/\r$/, '');
    if (shown.length > 200) shown = `${shown.slice(0, 200)}…`;
    throw new FormatError(`line ${this.pointLine}: unable to parse '${shown}': ${reason}`, {
      context: { line: this.pointLine, reason },
    });
  }
}

/** `digits` from `start` (no sign) is at most `limit`, both decimal; leading zeros allowed. */
function withinLimit(digits: string, limit: string, start = 0): boolean {
  let i = start;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  const length = digits.length - i;
  if (length !== limit.length) return length < limit.length;
  for (let k = 0; k < length; k++) {
    const a = digits.charCodeAt(i + k);
    const b = limit.charCodeAt(k);
    if (a !== b) return a < b;
  }
  return true;
}

/** An int64 (`signed`) or uint64 integer: a number when exact as a double, else a bigint. */
function readInteger(text: string, signed: boolean): number | bigint | undefined {
  const negative = signed && text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  if (!/^\d+$/.test(digits)) return undefined;
  if (!withinLimit(digits, signed ? (negative ? INT64_MIN_ABS : INT64_MAX) : UINT64_MAX)) return undefined;
  if (digits.length <= 15) return Number(text);
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}
