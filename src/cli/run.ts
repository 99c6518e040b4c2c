import { CommanderError } from 'commander';
import { registerUserSensitiveNames } from '../config/sensitive-names.ts';
import { configureLogging, type LogFormat, type LogLevel } from '../logging/logger.ts';
import { userFacingError } from '../os-errors.ts';
import { maskError, maskSecretsInString } from '../secrets/mask.ts';
import { asThisShellRunsIt } from './invoked-as.ts';
import { lazy } from './lazy.ts';
import { buildProgram } from './program.ts';
import { installSignalHandlers, interruptedBy, reportInterruption } from './signals.ts';

/** Exit codes: 0 success, 1 failure, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

// Loaded at the end of a command that ran, to close the S3 clients it may have opened.
const storageOpen = lazy(() => import('../storage/open.ts'));

/** Runs the CLI and returns its exit code; errors print as `E0xx: message` on stderr. */
export async function runCli(argv: string[]): Promise<number> {
  // The AWS SDK warns about Node versions on stderr; keep normal CLI output clean.
  process.env.AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING ??= '1';
  registerUserSensitiveNames();
  const program = buildProgram();
  let ran = false;
  program.hook('preAction', (root) => {
    ran = true;
    const opts = root.opts<{ logLevel: LogLevel; logFormat?: LogFormat }>();
    // A flag given on the command line wins over the environment, which wins over the default.
    const levelGiven = root.getOptionValueSource('logLevel') === 'cli';
    configureLogging({
      level:
        !levelGiven && process.env.SLUICE_LOG_LEVEL
          ? (process.env.SLUICE_LOG_LEVEL as LogLevel)
          : opts.logLevel,
      ...(opts.logFormat ? { format: opts.logFormat } : {}),
    });
  });
  const removeSignalHandlers = installSignalHandlers();
  try {
    await program.parseAsync(argv);
    const stoppedBy = interruptedBy();
    if (stoppedBy) return reportInterruption(stoppedBy);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    // A command stopped by SIGINT/SIGTERM: one line about what was kept, not the abort error.
    const stoppedBy = interruptedBy();
    if (stoppedBy) return reportInterruption(stoppedBy);
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return EXIT_OK;
      }
      // commander already printed its message.
      return EXIT_USAGE;
    }
    // OS errors (a missing path, permissions, a full disk) in the user's words, never E099.
    const sluiceError = userFacingError(error);
    process.stderr.write(`${sluiceError.code}: ${asThisShellRunsIt(sluiceError.message)}\n`);
    if (process.env.SLUICE_DEBUG && sluiceError.cause) {
      const cause = sluiceError.cause;
      const text =
        cause instanceof Error ? (maskError(cause).stack ?? '') : maskSecretsInString(String(cause));
      process.stderr.write(`${text}\n`);
    }
    return sluiceError.code === 'E022' ? EXIT_USAGE : EXIT_FAILURE;
  } finally {
    removeSignalHandlers();
    // Only a command that ran can have opened S3 clients: --help and usage errors load no driver.
    if (ran) await (await storageOpen()).closeStorageClients();
  }
}
