/**
 * The one strict CSV tokenizer: the format reader takes its rows; the DuckDB paths (convert,
 * write, pipeline ingest) run it validate-only, as DuckDB's reader accepts broken files.
 * Rules (RFC 4180 plus what users expect; docs/formats.md): UTF-8 only, a leading BOM skipped;
 * LF or CRLF line ends, the last optional; blank lines skipped (in a one-column file, one empty
 * value); fields plain (no quote inside, unless `relaxQuotes`) or quoted with `""` for a quote;
 * every record as wide as the header; header names non-empty and unique; records at most
 * `maxRecordBytes`. Anything else is FormatError E021 naming the file, line and column.
 */
import { isAscii } from 'node:buffer';
import { FormatError } from '../errors.ts';
import { describeByte, headerProblem } from './csv-header.ts';
import { type CsvRecord, type CsvScanOptions, DEFAULT_MAX_CSV_RECORD_BYTES } from './csv-types.ts';
import { firstInvalidUtf8, Utf8Checker } from './utf8.ts';

export { type CsvRecord, type CsvScanOptions, DEFAULT_MAX_CSV_RECORD_BYTES } from './csv-types.ts';

const LF = 10;
const CR = 13;
const QUOTE = 34;

const PLAIN = 0; // byte classes for the plain-field fast loop
const SPECIAL = 1;

// Tokenizer states (plain numbers: Node runs TypeScript by stripping types, so no enums).
const State = {
  FieldStart: 0,
  Plain: 1,
  Quoted: 2,
  QuoteInQuoted: 3, // after a quote in a quoted field: the field ends unless a quote follows
  AfterCr: 4, // after a CR outside quotes: only LF may follow
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
  private readonly limitName: string;
  private readonly header: boolean;
  private readonly values: boolean;
  private readonly foldCase: boolean;
  private readonly allowRagged: boolean;
  private readonly relaxQuotes: boolean;
  private readonly classes = new Uint8Array(256);

  private state: State = State.FieldStart;
  private line = 1;
  private recordLine = 1;
  private fieldCount = 0;
  private fieldQuoted = false;
  private fieldHasBytes = false; // a plain field has bytes in an earlier chunk
  private firstFieldEmpty = false; // so far a blank line, if the record ends now
  private recordBytes = 0; // checked at chunk ends and record ends
  /** Records completed so far (the header not counted). Read-only for callers. */
  records = 0;
  /** Bytes of the longest record so far (its line end excluded). Read-only for callers. */
  longestRecord = 0;
  private width = -1;
  private headerNames: string[] | undefined;
  private fields: string[] = [];
  private pieces: Uint8Array[] = [];
  private totalBytes = 0;
  private started = false;
  private readonly utf8 = new Utf8Checker();
  private chunkText: string | undefined; // the chunk as text when all ASCII (offsets match)
  private lineStartOffset = 0; // file offset of the current line, for error columns

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
    this.limitName = options.limitName ?? 'maxRecordBytes';
    this.header = options.header ?? true;
    this.values = options.values ?? true;
    this.foldCase = options.uniqueIgnoringCase ?? false;
    this.allowRagged = options.allowRagged ?? false;
    this.relaxQuotes = options.relaxQuotes ?? false;
    this.classes[this.delimiter] = SPECIAL;
    this.classes[LF] = SPECIAL;
    this.classes[CR] = SPECIAL;
    this.classes[QUOTE] = SPECIAL;
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
    const unfinished = this.utf8.end(this.totalBytes);
    if (unfinished) this.failUtf8(unfinished.bytes, unfinished.offset);
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
            i = recordStart = this.recordEnd(out, i, recordStart);
          } else if (c === CR) {
            this.endField(b, start, i);
            this.state = State.AfterCr;
            i++;
          } else if (this.relaxQuotes) {
            i++; // a quote inside a plain field is data
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
            i = recordStart = this.recordEnd(out, i, recordStart);
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
          i = recordStart = this.recordEnd(out, i, recordStart);
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

  /** A record ends at the line feed at `lf`; returns where the next record starts. */
  private recordEnd(out: CsvRecord[], lf: number, recordStart: number): number {
    this.recordBytes += lf - recordStart;
    this.newline(lf);
    this.endRecord(out);
    return lf + 1;
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
    // The chunk passed the UTF-8 check before it was scanned, so these decodes cannot meet a bad byte.
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
    if (this.recordBytes > this.longestRecord) this.longestRecord = this.recordBytes;
    if (!blank) {
      if (this.header && this.headerNames === undefined) {
        this.headerNames = this.checkHeader(this.fields);
        this.width = count;
      } else {
        if (this.width === -1) this.width = count;
        else if (count !== this.width && !this.allowRagged) this.wrongWidth(count);
        out.push({ fields: this.fields, line: this.recordLine });
        this.records++;
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
    const problem = headerProblem(names, this.foldCase);
    if (problem) this.fail(1, problem.message, { field: problem.field });
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
      `record is longer than the limit of ${this.maxRecordBytes} bytes (an unclosed quote, or raise ${this.limitName})`,
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

  /** Checks a chunk is UTF-8 (an incomplete trailing sequence waits for the next chunk). */
  private checkUtf8(bytes: Uint8Array): void {
    const bad = this.utf8.push(bytes, this.totalBytes);
    if (bad) this.failUtf8(bad.bytes, bad.offset);
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
