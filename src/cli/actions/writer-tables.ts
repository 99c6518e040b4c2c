/**
 * `sluice write` and `sluice convert`: a table in (csv, jsonl, json, parquet; a local file or a
 * storage URL), an operation output out, optionally age-encrypted.
 */
import { stat } from 'node:fs/promises';
import { quoteLiteral } from '../../engine/duckdb.ts';
import { UsageError } from '../../errors.ts';
import {
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
import { assertReadableFile } from '../../formats/local-file.ts';
import { formatFromKey, readRows } from '../../formats/registry.ts';
import { openObjectUrl, parseStorageUrl } from '../../storage/open.ts';
import { DataWriter } from '../../writer/data-writer.ts';
import { sourceInput } from '../../writer/lineage.ts';
import type { DataframeFormat, Table } from '../../writer/types.ts';
import { printJson } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import { encryptionFrom, type SecretOptions } from './writer-flags.ts';

const FORMATS = ['csv', 'parquet', 'json', 'jsonl'];

export interface WriteOptions extends SecretOptions {
  taskDir: string;
  name: string;
  format: string;
  subdir: string;
  partitionBy: string[];
  timestamp?: boolean;
  overwrite: boolean;
}

/**
 * Rows of an input file, read strictly: a local CSV is checked by sluice's tokenizer and then
 * read by DuckDB with the dialect given (types from a full scan); JSON, JSONL and remote files
 * stream through the format readers, so no user JSON ever reaches DuckDB's parser.
 */
async function inputTable(input: string): Promise<Table> {
  const plain = input.replace(/\?.*$/, '');
  const format = formatFromKey(plain);
  if (!format)
    throw new UsageError(
      `cannot tell the format of ${input} from its extension (.csv, .jsonl, .json, .parquet)`,
    );
  const parsed = parseStorageUrl(input);
  if (parsed.kind === 'fs' && (format === 'csv' || format === 'parquet')) {
    const file = parsed.root;
    await assertReadableFile(file);
    // The file's size lets the write report progress while DuckDB reads it.
    const inputBytes = (await stat(file)).size;
    if (format === 'parquet') {
      return {
        sql: `SELECT * FROM read_parquet(${quoteLiteral(file)})`,
        inputBytes,
        describeError: (error) => describeDuckdbParquetError(error, input),
      };
    }
    // Errors name the file as the user typed it. E021 for an empty or duplicate header name.
    await readCsvHeader(file, { source: input, uniqueIgnoringCase: true });
    await checkCsvForDuckdb(file, { source: input });
    // Types are guessed from a sample; a later value that does not fit sends DuckDB through the
    // whole file (sample_size=-1), and a record over 2 MB raises the line limit — each retried once.
    let longest: number | undefined;
    let wholeFile = false;
    const sql = () =>
      `SELECT * FROM read_csv(${quoteLiteral(file)}, ${strictReadCsvOptions(longest)}${wholeFile ? ', sample_size=-1' : ''})`;
    return {
      sql: sql(),
      inputBytes,
      retrySql: async (error) => {
        if (longest === undefined && isLineTooLong(error)) longest = await longestCsvRecord(file, input);
        else if (!wholeFile && isTypeGuessError(error)) wholeFile = true;
        else return undefined;
        return sql();
      },
      // DuckDB refused a file the quick pass cleared: the full tokenizer names the line if the
      // structure is at fault; otherwise DuckDB's reason, in the user's words.
      describeError: async (error) => {
        await fullCheck(file, { source: input });
        return describeDuckdbCsvError(error, input);
      },
    };
  }
  const { storage, key } = openObjectUrl(input);
  return readRows(storage, key, { format });
}

/** Outputs are put atomically, so a stop leaves none half-written; staged rows are removed. */
function writeStopLine(files: { done: number; total: number }): string {
  const kept =
    files.done > 0
      ? `${files.done} of ${files.total} partition files written (run again to write them all)`
      : 'no output written';
  return `${kept}, temp files removed`;
}

function formatOf(name: string, option: string): DataframeFormat {
  if (!FORMATS.includes(name))
    throw new UsageError(`${option} must be one of ${FORMATS.join(', ')}, got ${name}`);
  return name as DataframeFormat;
}

export async function write(input: string, opts: WriteOptions): Promise<void> {
  const encryption = await encryptionFrom(opts);
  const progress = createProgressReporter();
  const files = { done: 0, total: 0 };
  describeInterruption(() => writeStopLine(files));
  const writer = new DataWriter({
    taskDir: opts.taskDir,
    progress: (e) => {
      if (e.unit === 'files') Object.assign(files, { done: e.done, total: e.total ?? 0 });
      progress.update({ ...e, unit: e.unit });
    },
    ...(encryption ? { encryption } : {}),
  });
  try {
    const result = await writer.writeDataframe(await inputTable(input), opts.name, {
      format: formatOf(opts.format, '--format'),
      subdir: opts.subdir,
      timestampInName: opts.timestamp ?? false,
      overwrite: opts.overwrite,
      ...(opts.partitionBy.length > 0 ? { partitionBy: opts.partitionBy } : {}),
      ...(writer.recordsLineage ? { inputs: sourceInput(input) } : {}),
      signal: commandSignal(),
    });
    progress.stop();
    printJson(result);
  } finally {
    progress.stop();
    await writer.close();
  }
}

export async function convert(input: string, output: string, opts: SecretOptions): Promise<void> {
  const encrypted = output.endsWith('.age');
  const target = encrypted ? output.slice(0, -4) : output;
  const format = formatFromKey(target);
  if (!format) throw new UsageError(`cannot tell the output format of ${output} from its extension`);
  const encryption = await encryptionFrom(opts);
  if (encrypted !== (encryption !== undefined)) {
    throw new UsageError(
      encrypted
        ? `${output} ends in .age: give --encrypt-to or a passphrase`
        : 'encryption options need an output ending in .age',
    );
  }
  const { storage, key } = openObjectUrl(target);
  const name = key.slice(key.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '');
  const folder = key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : '';
  const progress = createProgressReporter();
  describeInterruption(() => writeStopLine({ done: 0, total: 0 }));
  const writer = new DataWriter({
    taskDir: storage,
    createFolders: false,
    progress: (e) => progress.update(e),
    ...(encryption ? { encryption } : {}),
  });
  try {
    const result = await writer.writeDataframe(await inputTable(input), name, {
      format,
      subdir: folder,
      ...(writer.recordsLineage ? { inputs: sourceInput(input) } : {}),
      signal: commandSignal(),
    });
    progress.stop();
    printJson(result);
  } finally {
    progress.stop();
    await writer.close();
    await storage.close();
  }
}
