/** Whole-file CSV checks on top of the tokenizer: validate a stream or file, read a header. */
import { createReadStream } from 'node:fs';
import { CsvScanner, type CsvScanOptions } from './csv-scan.ts';

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
