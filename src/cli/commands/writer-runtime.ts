// What `sluice write|convert|decrypt` need at run time, loaded only when one of them runs: the
// age implementation (age-encryption, @noble/*) alone costs ~60 ms of every other command's start-up,
// and the format layer loads csv-parse and csv-stringify.
export { decryptFile, decryptStream } from '../../crypto/index.ts';
export { readIdentityFile, readPassphraseEnv, readPassphraseFile } from '../../crypto/keys.ts';
export { quoteLiteral } from '../../engine/duckdb.ts';
export {
  checkCsvForDuckdb,
  describeDuckdbCsvError,
  describeDuckdbParquetError,
  fullCheck,
  isLineTooLong,
  isTypeGuessError,
  longestCsvRecord,
  readCsvHeader,
  strictReadCsvOptions,
} from '../../formats/csv-duckdb.ts';
export { assertReadableFile } from '../../formats/local-file.ts';
export { formatFromKey, readRows } from '../../formats/registry.ts';
export { DataWriter } from '../../writer/data-writer.ts';
