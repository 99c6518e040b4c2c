import { FormatError, type SluiceError } from '../errors.ts';

/** Where a text being parsed comes from, for error messages: `JSON data/in.json line 3 column 7: …`. */
export interface SourcePosition {
  /** Format named first in the message (`JSON`, `JSONL`). */
  label: string;
  /** File or key named in the message and in `context.file`. */
  source?: string | undefined;
  /** 1-based line. */
  line: number;
  /** 1-based column (characters), when known. */
  column?: number | undefined;
}

/** FormatError (E021) `<label> <source> line L column C: <message>` with {file, line, column} in its context. */
export function formatErrorAt(
  at: SourcePosition,
  message: string,
  context: Record<string, unknown> = {},
  cause?: unknown,
): SluiceError {
  const where = at.source === undefined ? '' : ` ${at.source}`;
  const column = at.column === undefined ? '' : ` column ${at.column}`;
  return new FormatError(`${at.label}${where} line ${at.line}${column}: ${message}`, {
    context: {
      ...(at.source === undefined ? {} : { file: at.source }),
      line: at.line,
      ...(at.column === undefined ? {} : { column: at.column }),
      ...context,
    },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The error for bytes that are not UTF-8, at a located byte. */
export function invalidUtf8Error(at: SourcePosition, byte: number, offset: number | undefined): SluiceError {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  const where = offset === undefined ? '' : ` at byte offset ${offset}`;
  return formatErrorAt(
    at,
    `invalid UTF-8 (byte ${hex}${where}): the file must be UTF-8 encoded`,
    offset === undefined ? {} : { offset },
  );
}
