/**
 * `sluice write`, `sluice convert`, `sluice decrypt`. Secrets never come from arguments (they
 * would land in shell history and `ps`): passphrases from a file or an environment variable,
 * identities from a key file.
 */
import type { Command } from 'commander';
import type { DecryptOptions } from '../actions/writer-decrypt.ts';
import type { SecretOptions } from '../actions/writer-flags.ts';
import type { WriteOptions } from '../actions/writer-tables.ts';
import { lazy } from '../lazy.ts';

// The actions load when one of them runs: the age implementation (age-encryption, @noble/*) alone
// costs ~60 ms of every other command's start-up, and the format layer loads csv-parse and
// csv-stringify.
const tables = lazy(() => import('../actions/writer-tables.ts'));
const decrypting = lazy(() => import('../actions/writer-decrypt.ts'));

const collect = (value: string, previous: string[]) => [...previous, value];

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
    .action(async (input: string, opts: WriteOptions) => (await tables()).write(input, opts));

  program
    .command('convert')
    .description('Convert a table between csv, jsonl, json and parquet (formats from the extensions)')
    .argument('<input>', 'input file or URL')
    .argument('<output>', 'output file or URL; ending in .age encrypts')
    .option('--encrypt-to <recipient>', 'age recipient for a .age output (repeatable)', collect, [])
    .option('--passphrase-file <file>', 'passphrase for a .age output, from this file')
    .option('--passphrase-env <var>', 'passphrase for a .age output, from this environment variable')
    .action(async (input: string, output: string, opts: SecretOptions) =>
      (await tables()).convert(input, output, opts),
    );

  program
    .command('decrypt')
    .description('Decrypt an age file (from sluice or the age CLI) with an identity file or a passphrase')
    .argument('<input>', 'encrypted file or URL (.age)')
    .requiredOption('-o, --output <file>', 'plaintext output file, or - for stdout')
    .option('-i, --identity <file>', 'age identity file (repeatable)', collect, [])
    .option('--passphrase-file <file>', 'passphrase from this file (first line)')
    .option('--passphrase-env <var>', 'passphrase from this environment variable')
    .action(async (input: string, opts: DecryptOptions) => (await decrypting()).decrypt(input, opts));
}
