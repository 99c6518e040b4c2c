/**
 * A strict parser of InfluxDB line protocol:
 *
 *   measurement[,tag=value…] field=value[,field=value…] [timestamp]
 *
 * Escapes: `\,` and `\ ` in the measurement; `\,`, `\=` and `\ ` in tag keys, tag values and
 * field keys; `\"` in string field values; `\\` everywhere. A backslash before any other
 * character is a literal backslash (as InfluxDB reads it). Field values: floats (`1`, `-1.5`,
 * `1e3`), integers (`1i`, int64), unsigned (`1u`, uint64), strings in double quotes (they may hold
 * newlines; at most 64 KiB) and booleans (t, T, true, True, TRUE, f, F, false, False, FALSE).
 * Timestamps are int64 in the request's precision. Blank lines and lines starting with `#` are
 * skipped; `\r\n` ends a line like `\n`. Duplicate tag or field keys in a line are refused.
 *
 * The whole body is parsed before anything is stored: the first bad line throws FormatError
 * (E021) with the line number in its context, and the caller stores nothing of the request.
 * The scanning itself is in scan.ts; this collects its points as objects.
 */
import { type FieldKind, type FieldValue, scanLineProtocol } from './scan.ts';

export { type FieldKind, type FieldValue, MAX_STRING_FIELD_BYTES } from './scan.ts';

export interface LineField {
  key: string;
  kind: FieldKind;
  value: FieldValue;
}

export interface ParsedLine {
  /** 1-based line of the body where the point starts. */
  line: number;
  measurement: string;
  /** Lines of one series share this array: do not modify it. */
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

/** Parses a whole body; throws FormatError naming the first bad line. */
export function parseLineProtocol(text: string, options: ParseOptions = {}): ParsedLine[] {
  const lines: ParsedLine[] = [];
  scanLineProtocol(
    text,
    {
      point(line, series, f, tsStart, tsEnd) {
        const timestamp = tsStart < 0 ? undefined : text.slice(tsStart, tsEnd);
        const fields: LineField[] = [];
        for (let i = 0; i < f.count; i++)
          fields.push({
            key: f.keys[i] as string,
            kind: f.kinds[i] as FieldKind,
            value: f.values[i] as FieldValue,
          });
        lines.push({ line, measurement: series.measurement, tags: series.tags, fields, timestamp });
      },
    },
    options.maxPoints,
  );
  return lines;
}
