/**
 * The command tree. Each command group declares its commands, flags and help in one file in
 * `src/cli/commands/` through one `register…Commands(program)` function; action bodies too long
 * for that file live in `src/cli/actions/<group>-<what>.ts`, loaded through `lazy()` (lazy.ts)
 * when their command runs. This file only wires the groups together.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, readLogFormat } from '../logging/logger.ts';
import { VERSION } from '../version.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerIngestCommands } from './commands/ingest.ts';
import { registerLineageCommands } from './commands/lineage.ts';
import { registerPipelineCommands } from './commands/pipeline.ts';
import { registerQueueCommands } from './commands/queue.ts';
import { registerServeCommands } from './commands/serve.ts';
import { registerStorageCommands } from './commands/storage.ts';
import { registerTimeseriesCommands } from './commands/timeseries.ts';
import { registerWriterCommands } from './commands/writer.ts';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Land, store and move data — on local disk or S3.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('warn'))
    .addOption(
      // No default here: unset, SLUICE_LOG_FORMAT and then the terminal decide (logger.ts).
      new Option(
        '--log-format <format>',
        'log lines: human or json (default: human on a terminal, json when piped; env SLUICE_LOG_FORMAT)',
      ).argParser(logFormatFlag),
    )
    .showHelpAfterError('(run with --help for usage)')
    // Commander's own usage errors (unknown option, missing argument, bad choice) read like ours:
    // `E022: …` on stderr, exit code 2 (run.ts). Subcommands inherit this when they are created.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'E022: ')) })
    .exitOverride();
  registerStorageCommands(program);
  registerConfigCommands(program);
  registerIngestCommands(program);
  registerWriterCommands(program);
  registerPipelineCommands(program);
  registerQueueCommands(program);
  registerTimeseriesCommands(program);
  registerLineageCommands(program);
  registerServeCommands(program);
  // Commands run as async actions; exitOverride propagates commander's usage errors as throws.
  for (const cmd of program.commands) applyExitOverride(cmd);
  return program;
}

function logFormatFlag(value: string): LogFormat {
  const format = readLogFormat(value);
  if (format) return format;
  throw new UsageError(`--log-format must be ${LOG_FORMATS.join(' or ')}, got ${JSON.stringify(value)}`);
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) applyExitOverride(sub);
}
