/**
 * The one strict CSV tokenizer. Every CSV that enters sluice passes through it: the format
 * reader takes its rows, and the DuckDB paths (convert, write, pipeline ingest) run it in
 * validate-only mode beside DuckDB, because DuckDB's reader accepts broken files (it takes a
 * stray quote as data, drops a trailing field and sniffs a different header from a ragged file).
 *
 * Rules (RFC 4180 plus what users expect): UTF-8 only (a leading BOM is skipped); records end
 * with LF or CRLF, the last one may lack it; a blank line is skipped, except in a one-column file,
 * where it is a record with one empty value; a field is either plain (no quote inside) or quoted, with `""` for a
 * quote and any byte, newlines included, between the quotes; every record has as many fields
 * as the header; header names are non-empty and unique (ignoring case where DuckDB reads the
 * file, as DuckDB and Parquet readers fold case); a record is at most `maxRecordBytes`. Anything else is FormatError E021 naming the
 * file, line and column.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { FormatError } from '../errors.ts';

/** Largest CSV record (all its fields and separators) accepted by default: 64 MiB. */
export const DEFAULT_MAX_CSV_RECORD_BYTES = 64 * 1024 * 1024;

export interface CsvScanOptions {
  /** One ASCII character. @default ',' */
  delimiter?: string;
  /** File or key named in errors. */
  source?: string;
  /** Largest record in bytes; longer is E021. @default 64 MiB */
  maxRecordBytes?: number;
  /** The first record is a header: its names are checked and every record must match its width. @default true */
  header?: boolean;
  /** Collect field values (false validates only, faster). @default true */
  values?: boolean;
  /** Records whose width differs from the header are passed on instead of refused (a caller that rejects rows itself). @default false */
  allowRagged?: boolean;
  /** Header names must also differ ignoring case (for DuckDB and Parquet, which fold case). @default false */
  uniqueIgnoringCase?: boolean;
}

/** One record: its fields (empty when values are off) and the line it starts on (1-based). */
export interface CsvRecord {
  fields: string[];
  line: number;
}

const LF = 10;
const CR = 13;
const QUOTE = 34;

// Byte classes for the plain-field fast loop.
const PLAIN = 0;
const SPECIAL = 1;

// Tokenizer states (plain numbers: Node runs TypeScript by stripping types, so no enums).
const State = {
  FieldStart: 0,
  Plain: 1,
  Quoted: 2,
  /** A quote inside a quoted field: the field ends here unless another quote follows. */
  QuoteInQuoted: 3,
  /** A CR outside quotes: only LF may follow. */
  AfterCr: 4,
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * A push tokenizer: feed byte chunks with `push`, then `end`. Records come back from both calls.
 * Throws FormatError on the first violation.
 */
export class CsvScanner {
  readonly source: string | undefined;
  private readonly delimiter: number;
  private readonly maxRecordBytes: number;
  private readonly header: boolean;
  private readonly values: boolean;
  private readonly foldCase: boolean;
  private readonly allowRagged: boolean;
  private readonly classes = new Uint8Array(256);

  private state: State = State.FieldStart;
  private line = 1;
  private recordLine = 1;
  private fieldCount = 0;
  private fieldQuoted = false;
  /** A plain field has bytes in an earlier chunk (so it is not empty). */
  private fieldHasBytes = false;
  /** The record's only field so far is plain and empty (a blank line if the record ends now). */
  private firstFieldEmpty = false;
  /** Byte length of the record so far (checked at chunk ends and record ends). */
  private recordBytes = 0;
  private longest = 0;
  private width = -1;
  private headerNames: string[] | undefined;
  private fields: string[] = [];
  private pieces: Uint8Array[] = [];
  private totalBytes = 0;
  private started = false;
  private utf8Carry: Uint8Array | undefined;
  /** The current chunk as text when it is all ASCII (byte offsets are then string offsets). */
  private chunkText: string | undefined;
  /** Where in the file each line starts, for the column of an error (bytes since the line began). */
  private lineStartOffset = 0;

  constructor(options: CsvScanOptions = {}) {
    const delimiter = options.delimiter ?? ',';
    if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 0x7f || /["\r\n]/.test(delimiter)) {
      throw new RangeError(
        `csv: delimiter must be one ASCII character other than a quote or newline, got ${JSON.stringify(delimiter)}`,
      );
    }
    this.delimiter = delimiter.charCodeAt(0);
    this.source = options.source;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_CSV_RECORD_BYTES;
    this.header = options.header ?? true;
    this.values = options.values ?? true;
    this.foldCase = options.uniqueIgnoringCase ?? false;
    this.allowRagged = options.allowRagged ?? false;
    this.classes[this.delimiter] = SPECIAL;
    this.classes[LF] = SPECIAL;
    this.classes[CR] = SPECIAL;
    this.classes[QUOTE] = SPECIAL;
  }

  /** Bytes of the longest record so far (its line end excluded). */
  get longestRecord(): number {
    return this.longest;
  }

  /** The header names, once the first record has been read. */
  get columns(): readonly string[] | undefined {
    return this.headerNames;
  }

  /** Records completed by this chunk (the header is not among them). */
  push(chunk: Uint8Array): CsvRecord[] {
    let bytes = chunk;
    if (!this.started) {
      this.started = true;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        bytes = bytes.subarray(3);
        this.totalBytes += 3;
        this.lineStartOffset = 3;
      }
    }
    this.checkUtf8(bytes);
    // Decoding an ASCII chunk once and slicing it is far cheaper than a decode per field.
    this.chunkText =
      this.values && isAscii(bytes)
        ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1')
        : undefined;
    const out: CsvRecord[] = [];
    this.scan(bytes, out);
    this.totalBytes += bytes.length;
    return out;
  }

  /** Ends the input; returns the last record if the file does not end with a newline. */
  end(): CsvRecord[] {
    if (this.utf8Carry) this.failUtf8(this.utf8Carry, this.totalBytes - this.utf8Carry.length);
    const out: CsvRecord[] = [];
    if (this.state === State.Quoted) {
      this.fail(this.recordLine, `unclosed quote in field ${this.fieldCount + 1}: the file ends inside it`, {
        field: this.fieldCount + 1,
      });
    }
    if (this.state === State.AfterCr) this.bareCr(this.totalBytes);
    if (this.state !== State.FieldStart || this.fieldCount > 0 || this.fieldQuoted) {
      this.endField(undefined, 0, 0);
      this.endRecord(out);
    }
    if (this.header && this.headerNames === undefined) this.fail(1, 'the file is empty: no header line');
    return out;
  }

  private scan(b: Uint8Array, out: CsvRecord[]): void {
    const n = b.length;
    const classes = this.classes;
    const delimiter = this.delimiter;
    let i = 0;
    // Start of the current field's bytes within this chunk (values mode).
    let start = 0;
    let recordStart = 0;
    while (i < n) {
      switch (this.state) {
        case State.FieldStart: {
          const c = b[i] as number;
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.fieldQuoted = true;
            i++;
            start = i;
            continue;
          }
          this.state = State.Plain;
          start = i;
          continue;
        }
        case State.Plain: {
          while (i < n && classes[b[i] as number] === PLAIN) i++;
          if (i >= n) break;
          const c = b[i] as number;
          if (c === delimiter) {
            this.endField(b, start, i);
            this.state = State.FieldStart;
            i++;
          } else if (c === LF) {
            this.endField(b, start, i);
            this.recordBytes += i - recordStart;
            this.newline(i);
            i++;
            recordStart = i;
            this.endRecord(out);
          } else if (c === CR) {
            this.endField(b, start, i);
            this.state = State.AfterCr;
            i++;
          } else {
            this.fail(
              this.line,
              `stray quote in unquoted field ${this.fieldCount + 1}${this.fieldName()} at column ${this.columnAt(i)}: quote the whole field and double the quote ("")`,
              { field: this.fieldCount + 1, column: this.columnAt(i) },
            );
          }
          continue;
        }
        case State.Quoted: {
          // A byte loop, not Buffer#indexOf: quoted fields are short and indexOf costs ~0.1 µs a call.
          while (i < n) {
            const c = b[i] as number;
            if (c === QUOTE) break;
            if (c === LF) this.newline(i);
            i++;
          }
          if (i >= n) break; // the chunk's tail is kept below
          if (this.collecting && i > start) this.pieces.push(b.subarray(start, i));
          i++;
          start = i;
          this.state = State.QuoteInQuoted;
          continue;
        }
        case State.QuoteInQuoted: {
          const c = b[i] as number;
          if (c === QUOTE) {
            // An escaped quote: keep one, stay in the field.
            this.state = State.Quoted;
            start = i;
            i++;
            continue;
          }
          if (c === delimiter) {
            this.endField(undefined, 0, 0);
            this.state = State.FieldStart;
            i++;
          } else if (c === LF) {
            this.endField(undefined, 0, 0);
            this.recordBytes += i - recordStart;
            this.newline(i);
            i++;
            recordStart = i;
            this.endRecord(out);
          } else if (c === CR) {
            this.endField(undefined, 0, 0);
            this.state = State.AfterCr;
            i++;
          } else {
            this.fail(
              this.line,
              `unexpected ${describeByte(c)} after the closing quote of field ${this.fieldCount + 1}${this.fieldName()} at column ${this.columnAt(i)}: a quoted field must end at a delimiter or line end (double a quote inside it as "")`,
              { field: this.fieldCount + 1, column: this.columnAt(i) },
            );
          }
          continue;
        }
        case State.AfterCr: {
          if (b[i] !== LF) this.bareCr(this.totalBytes + i);
          this.recordBytes += i - recordStart;
          this.newline(i);
          i++;
          recordStart = i;
          this.endRecord(out);
          continue;
        }
      }
      break;
    }
    if (this.state === State.Plain && start < n) {
      this.fieldHasBytes = true;
      if (this.collecting) this.pieces.push(b.subarray(start, n));
    } else if (this.state === State.Quoted && start < n && this.collecting) {
      this.pieces.push(b.subarray(start, n));
    }
    this.recordBytes += n - recordStart;
    if (this.recordBytes > this.maxRecordBytes) this.tooLong();
  }

  private newline(index: number): void {
    this.line++;
    this.lineStartOffset = this.totalBytes + index + 1;
  }

  private columnAt(index: number): number {
    return this.totalBytes + index - this.lineStartOffset + 1;
  }

  /** Whether field values are kept: always in values mode, else only for the header. */
  private get collecting(): boolean {
    return this.values || (this.header && this.headerNames === undefined);
  }

  private endField(b: Uint8Array | undefined, start: number, end: number): void {
    this.fieldCount++;
    if (this.fieldCount === 1) {
      this.firstFieldEmpty = !this.fieldQuoted && !this.fieldHasBytes && (!b || end === start);
    }
    this.fieldHasBytes = false;
    if (!this.collecting) return;
    let value: string;
    if (this.pieces.length === 0) {
      if (!b || end === start) value = '';
      else if (this.chunkText !== undefined && this.values) value = this.chunkText.slice(start, end);
      else value = Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
    } else {
      if (b && end > start) this.pieces.push(b.subarray(start, end));
      value = Buffer.concat(this.pieces).toString('utf8');
      this.pieces = [];
    }
    this.fields.push(value);
  }

  private endRecord(out: CsvRecord[]): void {
    const count = this.fieldCount;
    // A blank line cannot be a record of two or more fields, so it is skipped; in a one-column
    // file it is a record with one empty value (RFC 4180; DuckDB reads it the same way).
    const blank = count === 1 && this.firstFieldEmpty && this.width !== 1;
    if (this.recordBytes > this.maxRecordBytes) this.tooLong();
    if (this.recordBytes > this.longest) this.longest = this.recordBytes;
    if (!blank) {
      if (this.header && this.headerNames === undefined) {
        this.headerNames = this.checkHeader(this.fields);
        this.width = count;
      } else {
        if (this.width === -1) this.width = count;
        else if (count !== this.width && !this.allowRagged) this.wrongWidth(count);
        out.push({ fields: this.fields, line: this.recordLine });
      }
    }
    this.fields = [];
    this.fieldCount = 0;
    this.fieldQuoted = false;
    this.firstFieldEmpty = false;
    this.recordBytes = 0;
    this.recordLine = this.line;
    this.state = State.FieldStart;
  }

  private checkHeader(names: string[]): string[] {
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
      if (name === '') {
        this.fail(1, `header column ${i + 1} has no name: every column needs a unique name`, {
          field: i + 1,
        });
      }
      const folded = this.foldCase ? name.toLowerCase() : name;
      const first = seen.get(folded);
      if (first !== undefined) {
        this.fail(
          1,
          `header names ${JSON.stringify(names[first])} (column ${first + 1}) and ${JSON.stringify(name)} (column ${i + 1}) clash: column names must be unique${this.foldCase ? ', ignoring case (DuckDB and Parquet fold case)' : ''}`,
          { field: i + 1 },
        );
      }
      seen.set(folded, i);
    });
    return names;
  }

  private fieldName(): string {
    const name = this.headerNames?.[this.fieldCount];
    return name === undefined ? '' : ` (${JSON.stringify(name)})`;
  }

  private wrongWidth(count: number): never {
    const what = this.header ? 'the header has' : 'the first record has';
    this.fail(this.recordLine, `${count} field${count === 1 ? '' : 's'}, but ${what} ${this.width}`, {
      fields: count,
      expected: this.width,
    });
  }

  private tooLong(): never {
    this.fail(
      this.recordLine,
      `record is longer than the limit of ${this.maxRecordBytes} bytes (an unclosed quote, or raise maxRecordBytes)`,
      { limit: this.maxRecordBytes },
    );
  }

  private bareCr(offset: number): never {
    const line = this.line;
    this.fail(
      line,
      `carriage return not followed by a line feed at column ${offset - this.lineStartOffset}`,
      {
        column: offset - this.lineStartOffset,
      },
    );
  }

  /** Checks a chunk is UTF-8, carrying an incomplete trailing sequence into the next chunk. */
  private checkUtf8(bytes: Uint8Array): void {
    let data = bytes;
    let offset = this.totalBytes;
    if (this.utf8Carry) {
      const carry = this.utf8Carry;
      this.utf8Carry = undefined;
      data = Buffer.concat([carry, bytes]);
      offset -= carry.length;
    }
    const cut = incompleteTail(data);
    const whole = cut === data.length ? data : data.subarray(0, cut);
    if (!isUtf8(whole)) this.failUtf8(whole, offset);
    if (cut < data.length) this.utf8Carry = Uint8Array.from(data.subarray(cut));
  }

  /** `bytes` start at file offset `offset` and have not been scanned yet (a carry holds no newline). */
  private failUtf8(bytes: Uint8Array, offset: number): never {
    const bad = firstInvalidUtf8(bytes);
    const before = bytes.subarray(0, bad);
    let line = this.line;
    let lastNl = -1;
    for (let nl = before.indexOf(LF); nl >= 0; nl = before.indexOf(LF, nl + 1)) {
      line++;
      lastNl = nl;
    }
    const column = lastNl >= 0 ? bad - lastNl : offset + bad - this.lineStartOffset + 1;
    this.fail(
      line,
      `invalid UTF-8 (byte 0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')} at byte offset ${offset + bad}, column ${column}): the file must be UTF-8 encoded`,
      { column, offset: offset + bad },
    );
  }

  private fail(line: number, message: string, context: Record<string, unknown> = {}): never {
    const where = this.source ? ` ${this.source}` : '';
    throw new FormatError(`CSV${where} line ${line}: ${message}`, {
      context: { ...(this.source ? { file: this.source } : {}), line, ...context },
    });
  }
}

function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? JSON.stringify(String.fromCharCode(c)) : `byte 0x${c.toString(16)}`;
}

/** Length of `b` without a trailing, still incomplete UTF-8 sequence (at most 3 bytes). */
function incompleteTail(b: Uint8Array): number {
  const n = b.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const c = b[n - back] as number;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** Index of the first byte that starts an invalid UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Binary search on prefixes that end on a character boundary would be faster; this only runs
  // once, on the failing chunk.
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    const len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (len === 0) return i;
    if (len > 1) {
      try {
        decoder.decode(b.subarray(i, i + len));
      } catch {
        return i;
      }
    }
    i += len;
  }
  return b.length;
}

/** Validates a whole CSV byte stream without keeping values; returns the header and record count. */
export async function validateCsv(
  bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: Omit<CsvScanOptions, 'values'> = {},
): Promise<{ columns: readonly string[]; records: number; longestRecord: number }> {
  const scanner = new CsvScanner({ ...options, values: false });
  let records = 0;
  for await (const chunk of bytes) records += scanner.push(chunk).length;
  records += scanner.end().length;
  return { columns: scanner.columns ?? [], records, longestRecord: scanner.longestRecord };
}

/** Validates a local CSV file (streamed in 1 MiB reads); `source` names it in errors. */
export function validateCsvFile(
  file: string,
  options: Omit<CsvScanOptions, 'values'> = {},
): Promise<{ columns: readonly string[]; records: number; longestRecord: number }> {
  return validateCsv(createReadStream(file, { highWaterMark: 1024 * 1024 }), { source: file, ...options });
}

/** The header names of a CSV file, reading only as far as the header's end. */
export async function readCsvHeader(
  file: string,
  options: Omit<CsvScanOptions, 'values' | 'header'> = {},
): Promise<readonly string[]> {
  const scanner = new CsvScanner({ source: file, ...options, values: false, allowRagged: true });
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream) {
      scanner.push(chunk as Buffer);
      if (scanner.columns) return scanner.columns;
    }
    scanner.end();
    return scanner.columns ?? [];
  } finally {
    stream.destroy();
  }
}
