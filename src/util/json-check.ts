/**
 * Strict JSON (RFC 8259) checks that never recurse, so no input can exhaust the stack:
 * `depthProblemAt`, a quick bracket count run before any recursive code (a reviver, the
 * escaped-key parser, JSON.stringify of the result) sees a text; and `findJsonProblem`, a full
 * validator that says what is wrong and where. The validator only runs once JSON.parse has
 * refused a text (or when big integers must be found), so its speed matters less than its words.
 */

/** Deepest nesting of arrays and objects accepted by default (`[[1]]` is 2 deep). */
export const DEFAULT_JSON_MAX_DEPTH = 512;

/** What is wrong with a text and where (`offset` into it; `openedAt`: the bracket left open). */
export interface JsonProblem {
  offset: number;
  message: string;
  openedAt?: number;
}

export interface FindJsonProblemOptions {
  /** @default DEFAULT_JSON_MAX_DEPTH */
  maxDepth?: number;
  /** Report an integer written without fraction or exponent beyond ±(2^53 − 1). @default false */
  unsafeIntegers?: boolean;
  /** Report a number too large for a double (`1e400`, which JSON.parse makes Infinity). @default false */
  overflow?: boolean;
  /** Says what may follow the value (in `unexpected X after the value: <after>`). */
  after?: string;
}

const SP = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const isWs = (c: number) => c === SP || c === LF || c === CR || c === TAB;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Offset of the first bracket that opens a level deeper than `maxDepth`, or of a closing bracket
 * with nothing open (the text is then broken anyway and the validator explains it); -1 when
 * neither. Strings are skipped, nothing else is checked. Linear.
 */
export function depthProblemAt(text: string, maxDepth: number): number {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return -1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) {
      if (--depth < 0) return i;
    }
  }
  return -1;
}

/** Index of the quote closing the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let i = open;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}

// Parser states of the validator.
const VALUE = 0; // a value must come (after ':' or ',' in an array, or at the start)
const VALUE_OR_CLOSE = 1; // just after '['
const KEY = 2; // a name must come (after ',' in an object)
const KEY_OR_CLOSE = 3; // just after '{'
const COLON = 4;
const AFTER = 5; // after a value

/** The first thing that makes `text` not one RFC 8259 JSON value, or undefined when it is one. */
export function findJsonProblem(text: string, options: FindJsonProblemOptions = {}): JsonProblem | undefined {
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  const n = text.length;
  const open: number[] = []; // offsets of the brackets still open
  const path: (string | number)[] = []; // key or index at each open level
  let state = VALUE;
  let i = 0;
  const problem = (offset: number, message: string): JsonProblem => ({ offset, message });
  for (;;) {
    while (i < n && isWs(text.charCodeAt(i))) i++;
    const top = open.length > 0 ? text.charCodeAt(open[open.length - 1] as number) : 0;
    if (i >= n) {
      if (state === AFTER && open.length === 0) return undefined;
      if (state === VALUE && open.length === 0) return problem(i, 'empty document: there is no JSON value');
      const last = open[open.length - 1];
      if (last === undefined) return problem(i, 'unexpected end of the document');
      return {
        offset: i,
        message: `unexpected end of the document: the ${top === 0x5b ? 'array' : 'object'} opened at {opened} is not closed`,
        openedAt: last,
      };
    }
    const c = text.charCodeAt(i);
    if (state === VALUE || state === VALUE_OR_CLOSE) {
      if (c === 0x5d && state === VALUE_OR_CLOSE) {
        i++;
        open.pop();
        path.pop();
        state = AFTER;
        continue;
      }
      if (c === 0x5d && top === 0x5b) return problem(i, "trailing comma before ']'");
      if ((c === 0x5d || c === 0x7d) && top === 0x7b) return problem(i, "a value must follow ':'");
      if (c === 0x5b || c === 0x7b) {
        if (open.length >= maxDepth) return problem(i, `nesting deeper than the limit of ${maxDepth} levels`);
        open.push(i);
        path.push(0);
        state = c === 0x5b ? VALUE_OR_CLOSE : KEY_OR_CLOSE;
        i++;
        continue;
      }
      let end: number | JsonProblem;
      if (c === QUOTE) end = stringEnd(text, i);
      else if (c === 0x2d || isDigit(c)) end = numberEnd(text, i);
      else end = literalEnd(text, i);
      if (typeof end !== 'number') return end;
      if ((options.unsafeIntegers || options.overflow) && (c === 0x2d || isDigit(c))) {
        const bad = numberProblem(text.slice(i, end), options, path);
        if (bad) return problem(i, bad);
      }
      i = end;
      state = AFTER;
      continue;
    }
    if (state === KEY || state === KEY_OR_CLOSE) {
      if (c === 0x7d) {
        if (state === KEY) return problem(i, "trailing comma before '}'");
        i++;
        open.pop();
        path.pop();
        state = AFTER;
        continue;
      }
      if (c !== QUOTE)
        return problem(i, `expected a property name in double quotes, found ${describeAt(text, i)}`);
      const end = stringEnd(text, i);
      if (typeof end !== 'number') return end;
      if (options.unsafeIntegers || options.overflow)
        path[path.length - 1] = JSON.parse(text.slice(i, end)) as string;
      i = end;
      state = COLON;
      continue;
    }
    if (state === COLON) {
      if (c !== 0x3a) return problem(i, `expected ':' after the property name, found ${describeAt(text, i)}`);
      i++;
      state = VALUE;
      continue;
    }
    // AFTER a value.
    if (open.length === 0) {
      return problem(
        i,
        `unexpected ${describeAt(text, i)} after the value${options.after ? `: ${options.after}` : ''}`,
      );
    }
    if (c === 0x2c) {
      i++;
      if (top === 0x5b) {
        path[path.length - 1] = (path[path.length - 1] as number) + 1;
        state = VALUE;
      } else state = KEY;
      continue;
    }
    const close = top === 0x5b ? 0x5d : 0x7d;
    if (c === close) {
      i++;
      open.pop();
      path.pop();
      state = AFTER;
      continue;
    }
    const what = top === 0x5b ? "',' or ']' after an array element" : "',' or '}' after a property value";
    return problem(i, `expected ${what}, found ${describeAt(text, i)}`);
  }
}

/** What is wrong with a number literal that a double cannot hold exactly, if anything. */
function numberProblem(
  literal: string,
  options: FindJsonProblemOptions,
  path: (string | number)[],
): string | undefined {
  const value = Number(literal);
  if (options.overflow && !Number.isFinite(value)) {
    return `number ${literal} at ${describePath(path)} is too large for a double (it would become Infinity)`;
  }
  if (options.unsafeIntegers && !Number.isSafeInteger(value) && /^-?\d+$/.test(literal)) {
    return `integer ${literal} at ${describePath(path)} is beyond ±9007199254740991 (2^53 − 1) and would lose its exact value: send it as a string`;
  }
  return undefined;
}

/** End of the string starting at `i` (after its closing quote), or what is wrong in it. */
function stringEnd(text: string, start: number): number | JsonProblem {
  const n = text.length;
  let i = start + 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c < 0x20) {
      const name = c === LF ? 'a line break' : c === TAB ? 'a tab' : `control character ${codePoint(c)}`;
      return { offset: i, message: `${name} inside a string must be escaped (\\n, \\t, \\u00XX)` };
    }
    if (c === BACKSLASH) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          return { offset: i, message: '\\u must be followed by four hexadecimal digits' };
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(text[i + 1] ?? 'x')) {
        return { offset: i, message: `invalid escape ${JSON.stringify(text.slice(i, i + 2))} in a string` };
      }
      i += 2;
      continue;
    }
    i++;
  }
  return { offset: start, message: 'unterminated string: the closing quote is missing' };
}

/** End of the number starting at `i`, or what is wrong with it. */
function numberEnd(text: string, start: number): number | JsonProblem {
  let i = start;
  if (text.charCodeAt(i) === 0x2d) {
    i++;
    if (text.startsWith('Infinity', i)) return { offset: start, message: '-Infinity is not a JSON number' };
    if (!isDigit(text.charCodeAt(i))) return { offset: i, message: "a digit must follow '-'" };
  }
  if (text.charCodeAt(i) === 0x30) {
    i++;
    if (isDigit(text.charCodeAt(i))) return { offset: start, message: 'numbers cannot have leading zeros' };
  } else {
    while (isDigit(text.charCodeAt(i))) i++;
  }
  if (text.charCodeAt(i) === 0x2e) {
    i++;
    if (!isDigit(text.charCodeAt(i)))
      return { offset: i, message: "a digit must follow the decimal point '.'" };
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) return { offset: i, message: 'a digit must follow the exponent' };
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/** End of `true`, `false` or `null` at `i`, or what is there instead of a value. */
function literalEnd(text: string, i: number): number | JsonProblem {
  for (const word of ['true', 'false', 'null']) {
    if (text.startsWith(word, i)) return i + word.length;
  }
  return { offset: i, message: notAValue(text, i) };
}

function notAValue(text: string, i: number): string {
  if (text.startsWith('NaN', i)) return 'NaN is not a JSON number';
  if (text.startsWith('Infinity', i)) return 'Infinity is not a JSON number';
  const c = text.charCodeAt(i);
  if (c === 0x2b) return "a number cannot start with '+'";
  if (c === 0x2e) return "a number cannot start with '.' (write 0.5, not .5)";
  if (/^[A-Za-z_$]/.test(text[i] ?? '')) {
    const word = /^[\w$]+/.exec(text.slice(i, i + 40))?.[0] ?? '';
    return `expected a value, found ${JSON.stringify(word)} (strings need double quotes; literals are true, false and null)`;
  }
  return `expected a value, found ${describeAt(text, i)}`;
}

const WHITESPACE_NAMES: Record<number, string> = {
  11: 'vertical tab',
  12: 'form feed',
  160: 'no-break space',
  65279: 'byte order mark',
  8232: 'line separator',
  8233: 'paragraph separator',
};

/** The character at `i` described for a message, with what is wrong with it when that is known. */
export function describeAt(text: string, i: number): string {
  const cp = text.codePointAt(i);
  if (cp === undefined) return 'the end of the document';
  if (cp === 0x2f && (text[i + 1] === '/' || text[i + 1] === '*'))
    return "'/' (comments are not allowed in JSON)";
  if (cp === 0x27) return 'a single quote (JSON strings and names use double quotes)';
  const name = WHITESPACE_NAMES[cp];
  if (name !== undefined || /^\s$/u.test(String.fromCodePoint(cp))) {
    return `${name ?? 'whitespace'} ${codePoint(cp)}, which is not JSON whitespace (only space, tab, line feed and carriage return are)`;
  }
  const char = String.fromCodePoint(cp);
  if (!/^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char)) return `character ${codePoint(cp)}`;
  return cp < 0x80 ? `'${char}'` : `'${char}' (${codePoint(cp)})`;
}

function codePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A JSONPath-like name for the value at `path`: `$`, `$.id`, `$.rows[2]["a b"]`. */
function describePath(path: (string | number)[]): string {
  let out = '$';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return out;
}
