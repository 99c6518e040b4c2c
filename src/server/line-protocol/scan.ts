/**
 * The line-protocol scanner: one pass over the body, handing each point to a sink — its series
 * (measurement and tags, shared by every line of the same raw series text), its fields in
 * scratch arrays reused from line to line, and its timestamp's digits. No object is made per
 * field, so a converter can build the store's points directly (points.ts); parse.ts collects
 * lines for callers that want them. The grammar is described in parse.ts.
 */
import { FormatError } from '../../errors.ts';
import {
  type FieldKind,
  isInt64,
  type PlainNumber,
  readPlainNumber,
  readScalar,
  type Scalar,
} from './numbers.ts';

export type { FieldKind } from './numbers.ts';
/** Integers beyond ±2^53 stay bigint: they are exact here, and refused where stored as doubles. */
export type FieldValue = number | bigint | string | boolean;

export interface Series {
  measurement: string;
  /** Shared by every line of the series: do not modify. */
  tags: [string, string][];
  /** Free for the sink: what it derives once per series (metadata, variable names). */
  memo: unknown;
}

/** The fields of the line being handed over; valid only during the sink call. */
export interface FieldScratch {
  count: number;
  keys: string[];
  /** Whether keys[i] was written without escapes (its text in the body is the key itself). */
  plain: boolean[];
  kinds: FieldKind[];
  values: FieldValue[];
}

export interface LineSink {
  /**
   * One point. Its timestamp is `text.slice(tsStart, tsEnd)` (an int64, checked), or none when
   * `tsStart` is -1: offsets spare a string per line to sinks that read the digits in place.
   */
  point(line: number, series: Series, fields: FieldScratch, tsStart: number, tsEnd: number): void;
}

/** A series as the scanner keeps it: with its raw text, to recognise it in later lines. */
interface KnownSeries extends Series {
  raw: string;
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

/** What ends a name, and which characters a backslash escapes in it. */
interface NameRule {
  /** Stops at an unescaped `=` (keys do; the measurement does not). */
  stopAtEquals: boolean;
  escapesEquals: boolean;
}
const MEASUREMENT: NameRule = { stopAtEquals: false, escapesEquals: false };
const KEY_OR_TAG_VALUE: NameRule = { stopAtEquals: true, escapesEquals: true };

/** Scans `text`, handing every point to `sink`; throws FormatError naming the first bad line. */
export function scanLineProtocol(text: string, sink: LineSink, maxPoints = Number.POSITIVE_INFINITY): void {
  new LineScanner(text, sink, maxPoints).scan();
}

class LineScanner {
  /** Series seen in this body, by a hash of their raw text (checked against the text itself). */
  private readonly seriesByHash = new Map<number, KnownSeries[]>();
  private knownSeries = 0;
  /** Whether the last name() resolved an escape. */
  private escaped = false;
  private readonly number: PlainNumber = { kind: 'float', value: 0 };
  private readonly scalar: Scalar = { kind: 'float', value: 0 };
  private pos = 0;
  private line = 1;
  /** Start of the point being parsed, for messages. */
  private pointStart = 0;
  private pointLine = 1;

  private readonly text: string;
  private readonly sink: LineSink;
  private readonly maxPoints: number;
  private readonly fields: FieldScratch = { count: 0, keys: [], plain: [], kinds: [], values: [] };

  constructor(text: string, sink: LineSink, maxPoints: number) {
    this.text = text;
    this.sink = sink;
    this.maxPoints = maxPoints;
  }

  scan(): void {
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
      this.point();
      values += this.fields.count;
      if (values > this.maxPoints) {
        throw new FormatError(
          `The body holds more than ${this.maxPoints} points (one per field) by line ${this.pointLine}; send smaller batches`,
          { context: { line: this.pointLine, tooManyPoints: true, maxPoints: this.maxPoints } },
        );
      }
    }
  }

  private point(): void {
    const series = this.series();
    this.skipSpaces();
    if (this.atEol()) this.fail('missing fields');
    this.readFields();
    let tsStart = -1;
    let tsEnd = -1;
    if (this.code() === SPACE) {
      this.skipSpaces();
      if (!this.atEol()) {
        tsStart = this.pos;
        this.skipToken();
        tsEnd = this.pos;
        if (!isInt64(this.text, tsStart, tsEnd)) {
          const shown = JSON.stringify(this.text.slice(tsStart, Math.min(tsEnd, tsStart + 40)));
          this.fail(`bad timestamp ${shown}: it must be an int64 integer`);
        }
        this.skipSpaces();
        if (!this.atEol()) this.fail('unexpected text after the timestamp');
      }
    } else if (!this.atEol()) this.fail('invalid field format');
    const line = this.pointLine;
    this.endLine();
    this.sink.point(line, series, this.fields, tsStart, tsEnd);
  }

  /**
   * The measurement and tags, up to the space before the fields. Bodies repeat a few series many
   * times: the raw text of one parsed before maps to the same (shared) measurement and tags, so
   * a repeat costs one scan and one lookup instead of parsing and allocating its tags again.
   */
  private series(): Series {
    const t = this.text;
    const start = this.pos;
    let end = start;
    let hash = 0;
    for (;;) {
      const c = t.charCodeAt(end);
      if (end >= t.length || c === SPACE || c === NL || c === CR) break;
      hash = (Math.imul(hash, 31) + c) | 0;
      end += c === BACKSLASH && t.charCodeAt(end + 1) !== NL && t.charCodeAt(end + 1) !== CR ? 2 : 1;
    }
    const complete = t.charCodeAt(end) === SPACE;
    if (complete) {
      for (const known of this.seriesByHash.get(hash) ?? []) {
        if (known.raw.length === end - start && t.startsWith(known.raw, start)) {
          this.pos = end;
          return known;
        }
      }
    }
    const parsed = this.parseSeries();
    if (complete && this.pos === end && this.knownSeries < 100_000) {
      const known: KnownSeries = { ...parsed, raw: t.slice(start, end) };
      const bucket = this.seriesByHash.get(hash);
      if (bucket) bucket.push(known);
      else this.seriesByHash.set(hash, [known]);
      this.knownSeries++;
      return known;
    }
    return parsed;
  }

  private parseSeries(): Series {
    const measurement = this.name(MEASUREMENT);
    if (measurement === '') this.fail('missing measurement');
    const tags: [string, string][] = [];
    while (this.code() === COMMA) {
      this.pos++;
      const key = this.name(KEY_OR_TAG_VALUE);
      if (key === '') this.fail('missing tag key');
      if (this.code() !== EQUALS) this.fail(`missing tag value for tag key ${JSON.stringify(key)}`);
      this.pos++;
      const value = this.name(KEY_OR_TAG_VALUE);
      if (value === '') this.fail(`missing tag value for tag key ${JSON.stringify(key)}`);
      if (this.code() === EQUALS) this.fail(`tag value of ${JSON.stringify(key)} holds an unescaped "="`);
      if (tags.some(([k]) => k === key)) this.fail(`duplicate tag key ${JSON.stringify(key)}`);
      tags.push([key, value]);
    }
    if (this.code() !== SPACE) this.fail(this.atEol() ? 'missing fields' : 'invalid tag format');
    return { measurement, tags, memo: undefined };
  }

  private readFields(): void {
    const f = this.fields;
    f.count = 0;
    for (;;) {
      const i = f.count;
      // Lines of a body usually name the same fields: reuse the last key string at this place.
      const last = f.keys[i];
      let key: string;
      if (
        last !== undefined &&
        f.plain[i] &&
        this.text.startsWith(last, this.pos) &&
        this.text.charCodeAt(this.pos + last.length) === EQUALS
      ) {
        key = last;
        this.pos += last.length;
      } else {
        key = this.name(KEY_OR_TAG_VALUE);
        if (key === '') this.fail('missing field key');
        if (this.code() !== EQUALS) this.fail(`missing "=" after field key ${JSON.stringify(key)}`);
        f.keys[i] = key;
        f.plain[i] = !this.escaped;
      }
      this.pos++;
      for (let k = 0; k < i; k++)
        if (f.keys[k] === key) this.fail(`duplicate field key ${JSON.stringify(key)}`);
      if (this.code() === QUOTE) this.stringField(key, i);
      else if (!this.plainNumber(i)) this.scalarField(key, i);
      f.count++;
      if (this.code() !== COMMA) return;
      this.pos++;
    }
  }

  /** A plain number read in place (numbers.ts); false when the value needs scalarField. */
  private plainNumber(i: number): boolean {
    const end = readPlainNumber(this.text, this.pos, this.number);
    if (end < 0) return false;
    this.set(i, this.number.kind, this.number.value);
    this.pos = end;
    return true;
  }

  private set(i: number, kind: FieldKind, value: FieldValue): void {
    this.fields.kinds[i] = kind;
    this.fields.values[i] = value;
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
    this.escaped = out !== undefined;
    return out === undefined ? t.slice(start, this.pos) : out + t.slice(chunk, this.pos);
  }

  private stringField(key: string, i: number): void {
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
    this.set(i, 'string', out);
  }

  private scalarField(key: string, i: number): void {
    const token = this.token();
    const problem = readScalar(token, key, this.scalar);
    if (problem !== undefined) this.fail(problem);
    this.set(i, this.scalar.kind, this.scalar.value);
  }

  /** Characters up to the next comma, space or line end. */
  private token(): string {
    const start = this.pos;
    this.skipToken();
    return this.text.slice(start, this.pos);
  }

  private skipToken(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === COMMA || c === SPACE || c === NL || (c === CR && t.charCodeAt(this.pos + 1) === NL)) break;
      this.pos++;
    }
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
