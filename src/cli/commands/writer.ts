/**
 * `sluice write`, `sluice convert`, `sluice decrypt`. Secrets never come from arguments (they
 * would land in shell history and `ps`): passphrases from a file or an environment variable,
 * identities from a key file.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { openObjectUrl, parseStorageUrl } from '../../storage/open.ts';
import type { DataframeFormat, Table, WriterEncryption } from '../../writer/types.ts';
import { printJson } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import type * as WriterRuntime from './writer-runtime.ts';

const collect = (value: string, previous: string[]) => [...previous, value];
const FORMATS = ['csv', 'parquet', 'json', 'jsonl'];

interface SecretOptions {
  encryptTo: string[];
  passphraseFile?: string;
  passphraseEnv?: string;
}

async function passphraseFrom(opts: {
  passphraseFile?: string;
  passphraseEnv?: string;
}): Promise<string | undefined> {
  if (opts.passphraseFile && opts.passphraseEnv) {
    throw new UsageError('use --passphrase-file or --passphrase-env, not both');
  }
  const { readPassphraseFile, readPassphraseEnv } = await import('./writer-runtime.ts');
  if (opts.passphraseFile) return readPassphraseFile(opts.passphraseFile);
  if (opts.passphraseEnv) return readPassphraseEnv(opts.passphraseEnv);
  return undefined;
}

async function encryptionFrom(opts: SecretOptions): Promise<WriterEncryption | undefined> {
  const passphrase = await passphraseFrom(opts);
  if (opts.encryptTo.length > 0 && passphrase !== undefined) {
    throw new UsageError('age files take --encrypt-to recipients or a passphrase, not both');
  }
  if (passphrase !== undefined) return { passphrase };
  return opts.encryptTo.length > 0 ? { recipients: opts.encryptTo } : undefined;
}

/**
 * Rows of an input file, read strictly: a local CSV is checked by sluice's tokenizer and then
 * read by DuckDB with the dialect given (types from a full scan); JSON, JSONL and remote files
 * stream through the format readers, so no user JSON ever reaches DuckDB's parser.
 */
async function inputTable(input: string, rt: typeof WriterRuntime): Promise<Table> {
  const { formatFromKey, quoteLiteral, readRows } = rt;
  const plain = input.replace(/\?.*$/, '');
  const format = formatFromKey(plain);
  if (!format)
    throw new UsageError(
      `cannot tell the format of ${input} from its extension (.csv, .jsonl, .json, .parquet)`,
    );
  const parsed = parseStorageUrl(input);
  if (parsed.kind === 'fs' && (format === 'csv' || format === 'parquet')) {
    const file = parsed.root;
    await rt.assertReadableFile(file);
    if (format === 'parquet') {
      return {
        sql: `SELECT * FROM read_parquet(${quoteLiteral(file)})`,
        describeError: (error) => rt.describeDuckdbParquetError(error, input),
      };
    }
    // Errors name the file as the user typed it. E021 for an empty or duplicate header name.
    await rt.readCsvHeader(file, { source: input, uniqueIgnoringCase: true });
    await rt.checkCsvForDuckdb(file, { source: input });
    // Types are guessed from a sample; a later value that does not fit sends DuckDB through the
    // whole file (sample_size=-1), and a record over 2 MB raises the line limit — each retried once.
    let longest: number | undefined;
    let wholeFile = false;
    const sql = () =>
      `SELECT * FROM read_csv(${quoteLiteral(file)}, ${rt.strictReadCsvOptions(longest)}${wholeFile ? ', sample_size=-1' : ''})`;
    return {
      sql: sql(),
      retrySql: async (error) => {
        if (longest === undefined && rt.isLineTooLong(error))
          longest = await rt.longestCsvRecord(file, input);
        else if (!wholeFile && rt.isTypeGuessError(error)) wholeFile = true;
        else return undefined;
        return sql();
      },
      // DuckDB refused a file the quick pass cleared: the full tokenizer names the line if the
      // structure is at fault; otherwise DuckDB's reason, in the user's words.
      describeError: async (error) => {
        await rt.fullCheck(file, { source: input });
        return rt.describeDuckdbCsvError(error, input);
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

export function registerWriterCommands(program: Command): void {
  program
    .command('write')
    .description('Write a table (csv, jsonl, json, parquet) into a task directory as an operation output')
    .argument('<input>', 'input file or URL (.csv, .jsonl, .json, .parquet)')
    .requiredOption('--task-dir <dir>', 'task directory: path or storage URL (s3://bucket/prefix)')
    .requiredOption('--name <name>', 'output base name')
    .option('--format <format>', 'csv, parquet, json or jsonl', 'parquet')
    .option('--subdir <dir>', 'folder inside the task directory', 'output')
    .option('--partition-by <column>', 'Hive partition column (repeatable)', collect, [])
    .option('--encrypt-to <recipient>', 'age recipient age1… (repeatable)', collect, [])
    .option('--passphrase-file <file>', 'encrypt with the passphrase in this file (first line)')
    .option('--passphrase-env <var>', 'encrypt with the passphrase in this environment variable')
    .option('--timestamp', 'add a UTC timestamp to the file name')
    .option('--no-overwrite', 'fail if the output exists')
    .action(
      async (
        input: string,
        opts: SecretOptions & {
          taskDir: string;
          name: string;
          format: string;
          subdir: string;
          partitionBy: string[];
          timestamp?: boolean;
          overwrite: boolean;
        },
      ) => {
        const encryption = await encryptionFrom(opts);
        const progress = createProgressReporter();
        const files = { done: 0, total: 0 };
        describeInterruption(() => writeStopLine(files));
        const rt = await import('./writer-runtime.ts');
        const writer = new rt.DataWriter({
          taskDir: opts.taskDir,
          progress: (e) => {
            if (e.unit === 'files') Object.assign(files, { done: e.done, total: e.total ?? 0 });
            progress.update({ ...e, unit: e.unit });
          },
          ...(encryption ? { encryption } : {}),
        });
        try {
          const result = await writer.writeDataframe(await inputTable(input, rt), opts.name, {
            format: formatOf(opts.format, '--format'),
            subdir: opts.subdir,
            timestampInName: opts.timestamp ?? false,
            overwrite: opts.overwrite,
            ...(opts.partitionBy.length > 0 ? { partitionBy: opts.partitionBy } : {}),
            signal: commandSignal(),
          });
          progress.stop();
          printJson(result);
        } finally {
          progress.stop();
          await writer.close();
        }
      },
    );

  program
    .command('convert')
    .description('Convert a table between csv, jsonl, json and parquet (formats from the extensions)')
    .argument('<input>', 'input file or URL')
    .argument('<output>', 'output file or URL; ending in .age encrypts')
    .option('--encrypt-to <recipient>', 'age recipient for a .age output (repeatable)', collect, [])
    .option('--passphrase-file <file>', 'passphrase for a .age output, from this file')
    .option('--passphrase-env <var>', 'passphrase for a .age output, from this environment variable')
    .action(async (input: string, output: string, opts: SecretOptions) => {
      const encrypted = output.endsWith('.age');
      const target = encrypted ? output.slice(0, -4) : output;
      const rt = await import('./writer-runtime.ts');
      const format = rt.formatFromKey(target);
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
      const writer = new rt.DataWriter({
        taskDir: storage,
        createFolders: false,
        progress: (e) => progress.update(e),
        ...(encryption ? { encryption } : {}),
      });
      try {
        const result = await writer.writeDataframe(await inputTable(input, rt), name, {
          format,
          subdir: folder,
          signal: commandSignal(),
        });
        progress.stop();
        printJson(result);
      } finally {
        progress.stop();
        await writer.close();
        await storage.close();
      }
    });

  program
    .command('decrypt')
    .description('Decrypt an age file (from sluice or the age CLI) with an identity file or a passphrase')
    .argument('<input>', 'encrypted file or URL (.age)')
    .requiredOption('-o, --output <file>', 'plaintext output file, or - for stdout')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect, [])
    .option('--passphrase-file <file>', 'passphrase from this file (first line)')
    .option('--passphrase-env <var>', 'passphrase from this environment variable')
    .action(
      async (
        input: string,
        opts: { output: string; identity: string[]; passphraseFile?: string; passphraseEnv?: string },
      ) => {
        const passphrase = await passphraseFrom(opts);
        const identities: string[] = [];
        const { readIdentityFile, decryptFile, decryptStream } = await import('./writer-runtime.ts');
        for (const file of opts.identity) identities.push(...(await readIdentityFile(file)));
        if (identities.length === 0 && passphrase === undefined) {
          throw new UsageError('give --identity <file> or --passphrase-file/--passphrase-env');
        }
        const options = { identities, label: input, ...(passphrase === undefined ? {} : { passphrase }) };
        const parsed = parseStorageUrl(input);
        if (parsed.kind === 'fs' && opts.output !== '-') {
          const progress = createProgressReporter();
          await decryptFile(parsed.root, opts.output, { ...options, onProgress: (e) => progress.update(e) });
          progress.stop();
          return;
        }
        const { storage, key } = openObjectUrl(input);
        const source = (await storage.getStream(key)) as AsyncIterable<Uint8Array>;
        const plain = Readable.from(decryptStream(source, options), { objectMode: false });
        if (opts.output === '-') {
          await pipeline(plain, process.stdout, { end: false });
          return;
        }
        // Bytes are released only once authenticated, but a failure midway must not leave a partial file.
        const temp = path.join(
          path.dirname(opts.output),
          `.${path.basename(opts.output)}.${process.pid}.tmp`,
        );
        try {
          await pipeline(plain, createWriteStream(temp));
          await rename(temp, opts.output);
        } catch (error) {
          await rm(temp, { force: true });
          throw error;
        } finally {
          await storage.close();
        }
      },
    );
}
