/**
 * Reads a JSON document as a table, streaming: the elements of a top-level array are cut out one
 * at a time (a large array is never held whole) and each is parsed strictly (util/json-strict.ts);
 * a top-level object is one row. The cutting loop tracks strings, nesting and lines, so the depth
 * limit is enforced before any element is parsed and every error names a line and column.
 *
 * Rules: UTF-8 only (a leading BOM is skipped); only space, tab, LF and CR between tokens; no
 * trailing comma; nothing but whitespace after the array; every element is an object; an empty
 * or whitespace-only document is an error; integers beyond ±(2^53 − 1) are kept as BigInt.
 */
import type { SluiceError } from '../errors.ts';
import { formatErrorAt, invalidUtf8Error, type SourcePosition } from '../util/format-error-at.ts';
import { DEFAULT_JSON_MAX_DEPTH, describeAt } from '../util/json-check.ts';
import { parseStrictJson, positionIn } from '../util/json-strict.ts';
import { locateInvalidUtf8, Utf8ChunkDecoder } from '../util/utf8.ts';
import type { Row } from './types.ts';

export interface JsonTableOptions {
  /** File or key named in errors. */
  source?: string | undefined;
  /** Deepest nesting accepted, the top-level array included. @default 512 */
  maxDepth?: number | undefined;
}

const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_ARRAY = 91;
const OPEN_OBJECT = 123;
const CLOSE_ARRAY = 93;
const CLOSE_OBJECT = 125;

const START = 0;
const ARRAY = 1;
const OBJECT = 2;
const DONE = 3;

const isWs = (c: number) => c === 32 || c === LF || c === 13 || c === 9;

export class JsonTableScanner {
  private readonly source: string | undefined;
  private readonly maxDepth: number;
  private readonly utf8 = new Utf8ChunkDecoder();
  private mode = START;
  /** Nesting at the scan position, the top-level container included. */
  private level = 0;
  private inString = false;
  private escaped = false;
  private line = 1;
  /** Offset (in characters, from the document start) of the current line's first character. */
  private lineStart = 0;
  /** Offset of the current chunk's first character. */
  private offset = 0;
  private started = false;
  /** The element (or top-level object) being cut out: earlier chunks' parts of it. */
  private pieces: string[] = [];
  /** Where the element's text starts. */
  private elementAt: SourcePosition;
  /** The element has a character other than JSON whitespace. */
  private elementHasText = false;
  private elements = 0;
  /** Where the top-level container opened (for "not closed" errors). */
  private openedAt = { line: 1, column: 1 };
  private openedAsObject = false;

  constructor(options: JsonTableOptions = {}) {
    this.source = options.source;
    this.maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
    if (!Number.isInteger(this.maxDepth) || this.maxDepth < 1) {
      throw new RangeError(`maxDepth must be a whole number ≥ 1, got ${options.maxDepth}`);
    }
    this.elementAt = this.at(1, 1);
  }

  /** Rows completed by this chunk. */
  push(chunk: Uint8Array | string): Row[] {
    let text: string;
    if (typeof chunk === 'string') text = chunk;
    else {
      const decoded = this.utf8.decode(chunk);
      if (decoded === undefined) this.invalidUtf8(this.utf8.failed as Uint8Array);
      text = decoded;
    }
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        this.offset = 1;
        this.lineStart = 1;
      }
    }
    const rows: Row[] = [];
    this.scan(text, rows);
    this.offset += text.length;
    return rows;
  }

  /** Ends the document: the last row of a top-level object, or an error if it is incomplete. */
  end(): Row[] {
    const carry = this.utf8.end();
    if (carry) this.invalidUtf8(carry);
    if (this.mode === DONE) return [];
    const at = this.at(this.line, this.offset - this.lineStart + 1);
    if (this.mode === START) throw formatErrorAt(at, 'empty document: there is no JSON value');
    const what = this.mode === ARRAY ? 'array' : 'object';
    const opened = `line ${this.openedAt.line} column ${this.openedAt.column}`;
    throw formatErrorAt(at, `unexpected end of the document: the ${what} opened at ${opened} is not closed`);
  }

  private scan(text: string, rows: Row[]): void {
    const n = text.length;
    let i = this.mode === START ? this.start(text) : 0;
    // Where the element's text in this chunk begins.
    let from = i;
    // The hot loop works on locals (fields are several times slower to read and write); they are
    // stored back before any method that reads them runs (see `store`).
    const offset = this.offset;
    const maxDepth = this.maxDepth;
    let mode = this.mode;
    let level = this.level;
    let line = this.line;
    let lineStart = this.lineStart;
    let inString = this.inString;
    let escaped = this.escaped;
    let hasText = this.elementHasText;
    while (i < n && (mode === ARRAY || mode === OBJECT)) {
      if (inString) {
        if (escaped) {
          escaped = false;
          if (text.charCodeAt(i) === LF) {
            line++;
            lineStart = offset + i + 1;
          }
          i++;
        }
        // Strings are most of the bytes: a tight loop to their closing quote.
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            inString = false;
            i++;
            break;
          }
          if (c === BACKSLASH) {
            if (i + 1 >= n) {
              escaped = true;
              i++;
              break;
            }
            // Count an escaped line feed too (invalid, but the position must stay exact).
            if (text.charCodeAt(i + 1) === LF) {
              line++;
              lineStart = offset + i + 2;
            }
            i += 2;
            continue;
          }
          if (c === LF) {
            line++;
            lineStart = offset + i + 1;
          }
          i++;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        inString = true;
        hasText = true;
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        hasText = true;
        if (++level > maxDepth) {
          this.store(line, lineStart);
          this.tooDeep(i);
        }
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (level > 1) level--;
        else {
          this.store(line, lineStart);
          level = 0;
          if (mode === OBJECT) rows.push(this.finish(text, from, i + 1, 'object', true));
          else if (c === CLOSE_OBJECT) throw this.errorAt(i, "expected ',' or ']' in the array, found '}'");
          else if (hasText || this.elements > 0) rows.push(this.finish(text, from, i, ']', hasText));
          mode = DONE;
          from = i + 1;
        }
      } else if (c === COMMA && level === 1 && mode === ARRAY) {
        this.store(line, lineStart);
        rows.push(this.finish(text, from, i, ',', hasText));
        from = i + 1;
        this.startElement(i + 1);
        hasText = false;
      } else if (c === LF) {
        line++;
        lineStart = offset + i + 1;
      } else if (!hasText && !isWs(c)) hasText = true;
      i++;
    }
    this.mode = mode;
    this.level = level;
    this.store(line, lineStart);
    this.inString = inString;
    this.escaped = escaped;
    this.elementHasText = hasText;
    if (mode === ARRAY || mode === OBJECT) {
      if (from < n) this.pieces.push(from === 0 ? text : text.slice(from));
    } else if (mode === DONE) this.trailing(text, i);
  }

  private store(line: number, lineStart: number): void {
    this.line = line;
    this.lineStart = lineStart;
  }

  /** Skips whitespace before the top-level value; returns the index after its opening bracket. */
  private start(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === LF) this.newline(i);
      else if (isWs(c)) continue;
      else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        this.openedAt = { line: this.line, column: this.offset + i - this.lineStart + 1 };
        if (c === OPEN_ARRAY) {
          this.level = 1;
          this.mode = ARRAY;
          this.startElement(i + 1);
          return i + 1;
        }
        // The object is one element whose text starts at its brace; the loop counts the brace.
        this.level = 0;
        this.mode = OBJECT;
        this.openedAsObject = true;
        this.startElement(i);
        return i;
      } else {
        const value = valueName(text, i);
        throw this.errorAt(
          i,
          value === undefined
            ? `expected '[' or '{' at the start of the document, found ${describeAt(text, i)}`
            : `the document is ${value}, not a table: a table is an array of objects, or one object (one row)`,
        );
      }
    }
    return text.length;
  }

  /** Only whitespace may follow the end of the array or object. */
  private trailing(text: string, from: number): void {
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === LF) this.newline(i);
      else if (!isWs(c)) {
        const what = this.elements === 1 && this.openedAsObject ? 'object' : 'array';
        throw this.errorAt(
          i,
          `unexpected ${describeAt(text, i)} after the ${what}: only whitespace may follow it`,
        );
      }
    }
  }

  private startElement(chunkIndex: number): void {
    this.elementAt = this.at(this.line, this.offset + chunkIndex - this.lineStart + 1);
    this.elementHasText = false;
    this.pieces = [];
  }

  /** Parses the element that ends at `end` (exclusive) of this chunk, before `terminator`. */
  private finish(text: string, from: number, end: number, terminator: string, hasText: boolean): Row {
    const tail = text.slice(from, end);
    const body = this.pieces.length === 0 ? tail : this.pieces.join('') + tail;
    this.pieces = [];
    if (!hasText) {
      throw this.errorAt(end, terminator === ']' ? "trailing comma before ']'" : `missing value before ','`);
    }
    const value = parseStrictJson(body, this.elementAt, {
      depthChecked: true,
      maxDepth: this.maxDepth,
      after:
        terminator === 'object'
          ? 'the document holds one value'
          : "expected ',' or ']' after an array element",
    });
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const first = body.search(/[^ \t\r\n]/);
      throw formatErrorAt(
        { ...this.elementAt, ...positionIn(body, first, this.elementAt) },
        `element ${this.elements + 1} is ${typeName(value)}, not an object: every element of a table's array must be an object`,
        { element: this.elements + 1 },
      );
    }
    this.elements++;
    return value as Row;
  }

  private newline(chunkIndex: number): void {
    this.line++;
    this.lineStart = this.offset + chunkIndex + 1;
  }

  private at(line: number, column?: number): SourcePosition {
    return { label: 'JSON', source: this.source, line, column };
  }

  private errorAt(chunkIndex: number, message: string): SluiceError {
    return formatErrorAt(this.at(this.line, this.offset + chunkIndex - this.lineStart + 1), message);
  }

  private tooDeep(chunkIndex: number): never {
    throw formatErrorAt(
      this.at(this.line, this.offset + chunkIndex - this.lineStart + 1),
      `nesting deeper than the limit of ${this.maxDepth} levels (the top-level array or object counts as one)`,
      { limit: this.maxDepth },
    );
  }

  private invalidUtf8(bytes: Uint8Array): never {
    // The bytes start right after the text scanned so far.
    const bad = locateInvalidUtf8(bytes, this.line, this.offset - this.lineStart + 1);
    throw invalidUtf8Error(this.at(bad.line, bad.column), bad.byte, undefined);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

/** What the top-level value starting at `i` is, for the "not a table" error (undefined: no value). */
function valueName(text: string, i: number): string | undefined {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return 'a string';
  if (c === 45 || (c >= 48 && c <= 57)) return 'a number';
  if (text.startsWith('true', i) || text.startsWith('false', i)) return 'a boolean';
  if (text.startsWith('null', i)) return 'null';
  return undefined;
}
