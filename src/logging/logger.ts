/**
 * pino with sluice's masking: every log object passes through maskLogValue (nested keys,
 * headers, URL query strings, secret shapes; errors with their stacks and causes), and messages
 * and logged errors through maskSecretsInString/maskError, so no secret reaches a log line
 * whatever the caller passes. Lines are JSON for machines (piped, collected) or one readable
 * line each for a person at a terminal (see chooseLogFormat).
 */
import { createRequire } from 'node:module';
import type { DestinationStream, Logger, pino as PinoFn } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { ConfigurationError } from '../errors.ts';
import { maskError, maskLogValue, maskSecretsInString } from '../secrets/mask.ts';

const require = createRequire(import.meta.url);

// pino (30 modules, and an fsync of stderr at exit) loads with the first logger, so a command
// that never logs, such as a no-op sync, never pays for it.
let pinoFn: typeof PinoFn | undefined;
function loadPino(): typeof PinoFn {
  pinoFn ??= (require('pino') as { pino: typeof PinoFn }).pino;
  return pinoFn;
}

export type { Logger };
export const LOG_FORMATS = ['human', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A log format by name; `pretty` (its earlier name) still means human. Undefined if unknown. */
export function readLogFormat(text: string): LogFormat | undefined {
  if (text === 'pretty') return 'human';
  return (LOG_FORMATS as readonly string[]).includes(text) ? (text as LogFormat) : undefined;
}

export interface LogFormatChoice {
  /** What the user asked for (the CLI's --log-format), if anything. */
  requested?: string | undefined;
  /** SLUICE_LOG_FORMAT, if set. */
  env?: string | undefined;
  /** Whether the lines go to a terminal. */
  isTTY: boolean;
}

/**
 * The format asked for (flag, then SLUICE_LOG_FORMAT), else human on a terminal and JSON when
 * stderr is piped or redirected: a person reads the first, a collector parses the second.
 */
export function chooseLogFormat({ requested, env, isTTY }: LogFormatChoice): LogFormat {
  for (const [text, where] of [
    [requested, '--log-format'],
    [env, 'SLUICE_LOG_FORMAT'],
  ] as const) {
    if (text === undefined || text === '') continue;
    const format = readLogFormat(text);
    if (format) return format;
    throw new ConfigurationError(
      `Unknown log format ${JSON.stringify(text)} in ${where}; use ${LOG_FORMATS.join(' or ')}`,
      { context: { format: text, where } },
    );
  }
  return isTTY ? 'human' : 'json';
}

export interface LoggerOptions {
  /** @default SLUICE_LOG_LEVEL ?? 'info' */
  level?: LogLevel;
  /** @default SLUICE_LOG_FORMAT, else human when the destination is a terminal, else json */
  format?: LogFormat;
  /** Where lines go. @default stderr (stdout is for command output) */
  destination?: NodeJS.WritableStream;
  name?: string;
}

/**
 * One line per event for a person: time, level, message, then the fields as JSON. pino-pretty
 * runs in this thread, writing synchronously: a transport's worker thread would cost start-up
 * and could lose the last lines when a signal ends the process (signals.ts).
 */
function humanDestination(destination: NodeJS.WritableStream | undefined): DestinationStream {
  const pretty = require('pino-pretty') as (options: PrettyOptions) => DestinationStream;
  const isTTY = (destination ?? process.stderr) === process.stderr && process.stderr.isTTY === true;
  return pretty({
    destination: destination ?? 2,
    sync: true,
    colorize: isTTY && !process.env.NO_COLOR,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pino = loadPino();
  const level = options.level ?? (process.env.SLUICE_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  const format = chooseLogFormat({
    requested: options.format,
    env: process.env.SLUICE_LOG_FORMAT,
    isTTY: options.destination === undefined && process.stderr.isTTY === true,
  });
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
  if (format === 'human') return pino(pinoOptions, humanDestination(options.destination));
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

/**
 * The level the process-wide logger has or will have, without creating it (creating it loads
 * pino, which a command that never logs should not pay for).
 */
export function configuredLogLevel(): string {
  return shared?.level ?? sharedOptions.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
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
  // The format (or SLUICE_LOG_FORMAT) is checked now too; the terminal decides later, if asked.
  chooseLogFormat({ requested: options.format, env: process.env.SLUICE_LOG_FORMAT, isTTY: false });
  sharedOptions = options;
  shared = undefined;
}

export function setLogger(logger: Logger): void {
  shared = logger;
}
