/**
 * JSON.parse with a workaround for a V8 bug in Node 24 (seen on 24.21): when an object key
 * contains an escape sequence (`"\n"`, `"\\"`, `"\u0042"`, `"a\t"`), JSON.parse can return the
 * key of an earlier, differently escaped object of the same shape —
 * `JSON.parse('{"x":1,"\\\\":1}')` then `JSON.parse('{"x":1,"\\n":1}')` gives the key `\`.
 * Texts whose keys have no backslash (almost all) go to JSON.parse; the rest go through the
 * small parser below, which follows JSON.parse's semantics (own `__proto__` keys included).
 */
import { FormatError } from '../errors.ts';

// A backslash escape inside a string that is followed by `:` — i.e. inside a key. False
// positives (a value ending in `":`) only cost the slow path.
const ESCAPED_KEY = /\\.(?:[^"\\]|\\.)*"\s*:/s;

export interface ParseJsonOptions {
  /**
   * Numbers keep their exact value or fail: an integer written without fraction or exponent
   * beyond ±(2^53 − 1) becomes a BigInt, and a number too large for a double (`1e400`, which
   * JSON.parse makes Infinity) throws a RangeError. Recursive: depth-check untrusted text first.
   * @default false
   */
  exactNumbers?: boolean;
}

// Only texts with a run of 16+ digits (2^53 - 1 has 16) or a 3-digit exponent can hold such a
// number; the rest keep JSON.parse's fast path, as a reviver makes parsing several times slower.
// Spelled out, the digit run is found ~20x faster than by /\d{16}/ (irregexp skips ahead on it).
const LONG_DIGIT_RUN = /\d\d\d\d\d\d\d\d\d\d\d\d\d\d\d\d/;
const BIG_EXPONENT = /[eE][+-]?\d\d\d/;

/** Whether `text` may hold a number that a double cannot hold exactly (false: it cannot). */
export function mayHoldInexactNumber(text: string): boolean {
  return LONG_DIGIT_RUN.test(text) || BIG_EXPONENT.test(text);
}

export function parseJson(text: string, options: ParseJsonOptions = {}): unknown {
  const escapedKey = text.includes('\\') && ESCAPED_KEY.test(text);
  if (options.exactNumbers && mayHoldInexactNumber(text)) {
    // The V8 key bug hits the reviver path too, so escaped keys still go to the slow parser.
    return escapedKey
      ? new SlowParser(text, true).parseDocument()
      : JSON.parse(text, keepExactNumbers as never);
  }
  return escapedKey ? new SlowParser(text).parseDocument() : JSON.parse(text);
}

/** `value` parsed from `source`, as a BigInt when a double cannot hold the integer exactly. */
function exactNumber(value: number, source: string): number | bigint {
  if (Number.isSafeInteger(value)) return value;
  if (!Number.isFinite(value)) throw new RangeError(`number ${source} is too large for a double`);
  return /^-?\d+$/.test(source) ? BigInt(source) : value;
}

// Node 24's JSON.parse passes the number's source text to the reviver (`context.source`).
function keepExactNumbers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  return exactNumber(value, context?.source ?? String(value));
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const LITERALS: [string, unknown][] = [
  ['true', true],
  ['false', false],
  ['null', null],
];
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class SlowParser {
  private i = 0;
  private readonly s: string;
  private readonly exactNumbers: boolean;

  constructor(s: string, exactNumbers = false) {
    this.s = s;
    this.exactNumbers = exactNumbers;
  }

  parseDocument(): unknown {
    const value = this.value();
    this.ws();
    if (this.i < this.s.length) this.fail('Unexpected non-whitespace character after JSON');
    return value;
  }

  private fail(message: string): never {
    throw new SyntaxError(`${message} at position ${this.i}`);
  }

  private ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    for (const [word, literal] of LITERALS) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return literal;
      }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) this.fail(c === undefined ? 'Unexpected end of JSON input' : `Unexpected token '${c}'`);
    this.i += m[0].length;
    const n = Number(m[0]);
    return this.exactNumbers ? exactNumber(n, m[0]) : n;
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('Expected a property name');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("Expected ':' after property name");
      this.i++;
      const v = this.value();
      // JSON.parse makes `__proto__` an own property; plain assignment would set the prototype.
      Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail("Expected ',' or '}' after property value");
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail("Expected ',' or ']' after array element");
    }
  }

  private string(): string {
    this.i++;
    let out = '';
    let start = this.i;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('Unterminated string in JSON');
      if (c === 0x22) {
        out += this.s.slice(start, this.i++);
        return out;
      }
      if (c < 0x20) this.fail('Bad control character in string literal');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.slice(start, this.i);
      const e = this.s[this.i + 1] ?? '';
      if (e === 'u') {
        const hex = this.s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('Bad Unicode escape');
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.i += 6;
      } else {
        const ch = ESCAPES[e];
        if (ch === undefined) this.fail('Bad escaped character');
        out += ch;
        this.i += 2;
      }
      start = this.i;
    }
  }
}

/** The fallback parser alone (exported for tests). */
export function parseJsonSlow(text: string): unknown {
  return new SlowParser(text).parseDocument();
}

/** parseJson that throws FormatError (E021) naming where the text came from. */
export function parseJsonOrThrow(text: string, where: string): unknown {
  try {
    return parseJson(text);
  } catch (error) {
    throw new FormatError(`${where} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
