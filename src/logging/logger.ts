/**
 * pino with sluice's masking: every log object passes through maskLogValue (nested keys,
 * headers, URL query strings, secret shapes; errors with their stacks and causes), and messages
 * and logged errors through maskSecretsInString/maskError, so no secret reaches a log line
 * whatever the caller passes.
 */
import { createRequire } from 'node:module';
import type { DestinationStream, Logger, pino as PinoFn } from 'pino';
import { ConfigurationError } from '../errors.ts';
import { maskError, maskLogValue, maskSecretsInString } from '../secrets/mask.ts';

// pino (30 modules, and an fsync of stderr at exit) loads with the first logger, so a command
// that never logs, such as a no-op sync, never pays for it.
let pinoFn: typeof PinoFn | undefined;
function loadPino(): typeof PinoFn {
  pinoFn ??= (createRequire(import.meta.url)('pino') as { pino: typeof PinoFn }).pino;
  return pinoFn;
}

export type { Logger };
export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** @default SLUICE_LOG_LEVEL ?? 'info' */
  level?: LogLevel;
  /** @default SLUICE_LOG_FORMAT ?? 'json' */
  format?: LogFormat;
  /** Where lines go. @default stderr (stdout is for command output) */
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pino = loadPino();
  const level = options.level ?? (process.env.SLUICE_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  const format = options.format ?? (process.env.SLUICE_LOG_FORMAT as LogFormat | undefined) ?? 'json';
  const pinoOptions = {
    level,
    name: options.name ?? 'sluice',
    formatters: {
      log: (obj: Record<string, unknown>) => maskLogValue(obj) as Record<string, unknown>,
    },
    hooks: {
      // Before pino reads them: the message text (pino takes an Error's message as `msg`, and
      // formats `%s` arguments into it) must be masked as well as the fields.
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) =>
            typeof a === 'string' ? maskSecretsInString(a) : a instanceof Error ? maskError(a) : a,
          ),
        );
      },
    },
  };
  if (format === 'pretty') {
    return pino(
      pinoOptions,
      pino.transport({
        target: 'pino-pretty',
        options: { destination: 2, colorize: process.stderr.isTTY ?? false },
      }),
    );
  }
  return pino(pinoOptions, (options.destination as DestinationStream | undefined) ?? pino.destination(2));
}

let shared: Logger | undefined;
let sharedOptions: LoggerOptions = {};

/**
 * The process-wide logger (configured by the CLI's --log-level/--log-format). With a name, a
 * child logger tagged `module: name` (the seed's `get_logger(name, level)`).
 */
export function getLogger(name?: string, level?: LogLevel): Logger {
  shared ??= createLogger(sharedOptions);
  if (name === undefined && level === undefined) return shared;
  const child = shared.child(name === undefined ? {} : { module: name });
  if (level !== undefined) child.level = level;
  return child;
}

/** Replaces the process-wide logger with one at `level` (the seed's `setup_logging`). */
export function setupLogging(level: LogLevel = 'info', format?: LogFormat): Logger {
  shared = createLogger({ level, ...(format ? { format } : {}) });
  return shared;
}

/**
 * Sets the options of the process-wide logger without creating it: it is made on the first
 * `getLogger()` (the CLI's --log-level/--log-format).
 */
export function configureLogging(options: LoggerOptions): void {
  // Checked now: the logger itself is made later, in the middle of work, where a bad level
  // would surface as an unrelated failure.
  const level = options.level ?? process.env.SLUICE_LOG_LEVEL;
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigurationError(
      `Unknown log level ${JSON.stringify(level)}; use one of ${LOG_LEVELS.join(', ')}`,
      {
        context: { level },
      },
    );
  }
  const format = options.format ?? process.env.SLUICE_LOG_FORMAT;
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    throw new ConfigurationError(`Unknown log format ${JSON.stringify(format)}; use json or pretty`, {
      context: { format },
    });
  }
  sharedOptions = options;
  shared = undefined;
}

export function setLogger(logger: Logger): void {
  shared = logger;
}
