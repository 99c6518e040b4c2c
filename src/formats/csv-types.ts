/** Options and results of the strict CSV tokenizer (csv-scan.ts). */

/** Largest CSV record (all its fields and separators) accepted by default: 64 MiB. */
export const DEFAULT_MAX_CSV_RECORD_BYTES = 64 * 1024 * 1024;

export interface CsvScanOptions {
  /** One ASCII character. @default ',' */
  delimiter?: string;
  /** File or key named in errors. */
  source?: string;
  /** Largest record in bytes; longer is E021. @default 64 MiB */
  maxRecordBytes?: number;
  /** How the limit is named in errors (a CLI names its flag). @default 'maxRecordBytes' */
  limitName?: string;
  /** The first record is a header: its names are checked and every record must match its width. @default true */
  header?: boolean;
  /** Collect field values (false validates only, faster). @default true */
  values?: boolean;
  /** Take a quote inside an unquoted field (`37°36'37.8"N`) as data instead of refusing it, as most spreadsheet exports need. @default false */
  relaxQuotes?: boolean;
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
