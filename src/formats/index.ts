export { ChunkBuffer, jsonReplacer, stringifyJson } from './common.ts';
export {
  type CsvReadOptions,
  type CsvWriteOptions,
  csv,
  csvCell,
  csvReader,
  csvWriter,
  tabulate,
  unionKeys,
} from './csv.ts';
export { type JsonReadOptions, type JsonWriteOptions, json, jsonReader, jsonWriter } from './json.ts';
export { type JsonlReadOptions, jsonl, jsonlLine, jsonlReader, jsonlWriter } from './jsonl.ts';
export {
  type ParquetCompression,
  type ParquetReadOptions,
  type ParquetSchema,
  type ParquetWriteOptions,
  parquet,
  parquetReader,
  parquetWriter,
  readParquetFile,
  writeParquetFile,
} from './parquet.ts';
export {
  FORMAT_NAMES,
  formatFromKey,
  getFormat,
  isFormatName,
  readRows,
  type WriteRowsOptions,
  writeRows,
} from './registry.ts';
export { fileChunks, spoolToFile, TempDir } from './spool.ts';
export type * from './types.ts';
