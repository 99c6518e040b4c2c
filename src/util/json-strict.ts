/**
 * The one strict JSON path for text from users (files, lines, objects): RFC 8259 exactly, as
 * JSON.parse reads it (it refuses trailing commas, comments, NaN/Infinity, leading zeros, single
 * quotes and any whitespace but space, tab, LF and CR; lone surrogate escapes such as "\uDADA"
 * are accepted, as JSON.parse does), with three additions:
 * - nesting deeper than `maxDepth` is refused before any recursive code sees the text;
 * - integers beyond ±(2^53 − 1) are kept exactly as BigInt, or refused — never rounded — and a
 *   number too large for a double (1e400, which JSON.parse makes Infinity) is refused;
 * - a refusal is FormatError (E021) naming the source, line and column, in words
 *   (`trailing comma before ']'`), found by `findJsonProblem` once JSON.parse has said no.
 * Byte-level rules (UTF-8, a leading BOM, line splitting) belong to the readers.
 */
import type { SluiceError } from '../errors.ts';
import { formatErrorAt, type SourcePosition } from './format-error-at.ts';
import { DEFAULT_JSON_MAX_DEPTH, depthProblemAt, findJsonProblem, type JsonProblem } from './json-check.ts';
import { mayHoldInexactNumber, parseJson } from './json-parse.ts';

export interface StrictJsonOptions {
  /** Deepest nesting accepted. @default DEFAULT_JSON_MAX_DEPTH (512) */
  maxDepth?: number;
  /** The caller has already counted the nesting of this text (a streaming reader does). @default false */
  depthChecked?: boolean;
  /**
   * Integers without fraction or exponent beyond ±(2^53 − 1): `bigint` keeps them exactly as
   * BigInt; `refuse` is E021 naming the value's path (for values that must stay JSON-serialisable,
   * such as job payloads). @default 'bigint'
   */
  bigIntegers?: 'bigint' | 'refuse';
  /** What may follow the value, said when something else does. */
  after?: string;
}

/** Parses `text` strictly; `at` is where its first character is, for errors. */
export function parseStrictJson(text: string, at: SourcePosition, options: StrictJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  // Deeper than maxDepth needs more than maxDepth brackets, so short texts skip the count.
  if (!options.depthChecked && text.length > maxDepth && depthProblemAt(text, maxDepth) >= 0) {
    throw jsonError(text, at, options);
  }
  const refuse = options.bigIntegers === 'refuse';
  if (refuse && mayHoldInexactNumber(text)) {
    const problem = findJsonProblem(text, {
      maxDepth,
      unsafeIntegers: true,
      overflow: true,
      ...after(options),
    });
    if (problem) throw problemError(text, at, problem);
  }
  try {
    return parseJson(text, { exactNumbers: !refuse });
  } catch (error) {
    // SyntaxError: not JSON; RangeError: a number too large for a double (exactNumbers).
    if (error instanceof SyntaxError || error instanceof RangeError)
      throw jsonError(text, at, options, error);
    throw error;
  }
}

const after = (options: StrictJsonOptions) => (options.after ? { after: options.after } : {});

/** The E021 for a text known to be broken (or too deep), saying what is wrong and where. */
export function jsonError(
  text: string,
  at: SourcePosition,
  options: StrictJsonOptions = {},
  cause?: unknown,
): SluiceError {
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  const problem =
    findJsonProblem(text, { maxDepth, overflow: true, ...after(options) }) ?? fromSyntaxError(cause);
  return problemError(text, at, problem, cause);
}

/** JSON.parse refused a text the validator accepts: should not happen; keep JSON.parse's words. */
function fromSyntaxError(cause: unknown): JsonProblem {
  const message = cause instanceof Error ? cause.message : 'not valid JSON';
  const position = /at position (\d+)/.exec(message)?.[1];
  return { offset: position === undefined ? 0 : Number(position), message };
}

export function problemError(
  text: string,
  at: SourcePosition,
  problem: JsonProblem,
  cause?: unknown,
): SluiceError {
  let message = problem.message;
  if (problem.openedAt !== undefined) {
    const opened = positionIn(text, problem.openedAt, at);
    message = message.replace('{opened}', `line ${opened.line} column ${opened.column}`);
  }
  return formatErrorAt({ ...at, ...positionIn(text, problem.offset, at) }, message, {}, cause);
}

/** Line and column of `offset` in `text`, whose first character is at `at`. */
export function positionIn(
  text: string,
  offset: number,
  at: SourcePosition,
): { line: number; column: number } {
  let line = at.line;
  let lineStart = -1;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl;
  }
  const column = lineStart >= 0 ? offset - lineStart : (at.column ?? 1) + offset;
  return { line, column };
}
