/**
 * Live progress of long commands, on stderr only (stdout is the command's data). On a terminal a
 * bar per operation with done, total, rate and time left; otherwise (piped, CI logs) a log line
 * through the sluice logger once an operation has run a second, then every few seconds, and one
 * when it ends — never escape codes, never a line per event. SLUICE_PROGRESS=0 turns both off;
 * SLUICE_PROGRESS=1 shows them whatever the log level (by default `--log-level error` or quieter
 * hides the lines, as it hides other notices).
 */
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import { UsageError } from '../errors.ts';
import { configuredLogLevel, getLogger, type Logger } from '../logging/logger.ts';
import { parseDuration } from '../util/durations.ts';
import type { ProgressEvent } from '../util/progress.ts';
import { finishedText, formatAmount, progressLabel, progressText, RateMeter } from './progress-text.ts';

export type { ProgressEvent };

export interface ProgressReporter {
  update(event: ProgressEvent): void;
  stop(): void;
}

export type ProgressMode = 'off' | 'bar' | 'log';

export interface ProgressReporterOptions {
  /** Where bars are drawn. @default process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** @default process.env.SLUICE_PROGRESS */
  setting?: string | undefined;
  /** Where lines go when no bar is drawn. @default the sluice logger, module 'progress' */
  logger?: Logger;
  /** The first line of an operation, once it has run this long. @default 1000, or lineEveryMs if shorter */
  firstLineAfterMs?: number;
  /** Then a line at most this often. @default SLUICE_PROGRESS_INTERVAL, else 5000 */
  lineEveryMs?: number;
  /** @default performance.now */
  now?: () => number;
}

const QUIET_LEVELS = new Set(['error', 'fatal', 'silent']);

/**
 * Bar, log lines or nothing: SLUICE_PROGRESS=0 nothing; otherwise a bar on a terminal and log
 * lines elsewhere — unless the log level asks for errors only, where SLUICE_PROGRESS=1 still wins.
 */
export function progressMode(setting: string | undefined, isTTY: boolean, logLevel: string): ProgressMode {
  const value = setting?.trim().toLowerCase();
  if (value === '0' || value === 'false' || value === 'off' || value === 'no') return 'off';
  const forced = value === '1' || value === 'true' || value === 'on' || value === 'yes';
  if (isTTY) return 'bar';
  return forced || !QUIET_LEVELS.has(logLevel) ? 'log' : 'off';
}

interface Track {
  event: ProgressEvent;
  startedAt: number;
  meter: RateMeter;
  finished: boolean;
  lines: number;
  lastLineAt: number;
  closed: boolean;
}

function isFinished(event: ProgressEvent): boolean {
  return event.total !== undefined && event.done >= event.total;
}

/** A new run of the same operation (the next poll cycle, the next file): counts went back, or it had ended. */
function startsOver(track: Track, event: ProgressEvent): boolean {
  if (event.done < track.event.done) return true;
  return track.finished && !(event.done === track.event.done && event.total === track.event.total);
}

export function createProgressReporter(options: ProgressReporterOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const setting = 'setting' in options ? options.setting : process.env.SLUICE_PROGRESS;
  const level = options.logger?.level ?? configuredLogLevel();
  const mode = progressMode(setting, stream.isTTY === true, level);
  if (mode === 'off') return { update() {}, stop() {} };
  const now = options.now ?? (() => performance.now());
  const tracks = new Map<string, Track>();
  const draw = mode === 'bar' ? barDrawer(stream) : lineWriter(options);
  return {
    update(event) {
      const at = now();
      const key = `${event.operation}\0${event.unit}`;
      let track = tracks.get(key);
      if (track && startsOver(track, event)) {
        draw.close(track, at);
        track = undefined;
      }
      if (!track) {
        track = {
          event,
          startedAt: at,
          meter: new RateMeter(),
          finished: false,
          lines: 0,
          lastLineAt: at,
          closed: false,
        };
        tracks.set(key, track);
      }
      track.event = event;
      track.meter.add(at, event.done);
      track.finished = isFinished(event);
      draw.update(key, track, at);
      if (track.finished) draw.close(track, at);
    },
    stop() {
      const at = now();
      for (const track of tracks.values()) draw.close(track, at);
      draw.stop();
    },
  };
}

interface Drawer {
  update(key: string, track: Track, at: number): void;
  /** The operation ended (or the command did): its last state, once. */
  close(track: Track, at: number): void;
  stop(): void;
}

/**
 * Lines through the logger: the first once an operation has run `firstLineAfterMs`, then every
 * `lineEveryMs`, and a closing one for any operation that ran that long — a quick operation
 * writes none, so scripts that pipe a short command see a clean stderr.
 */
function lineWriter(options: ProgressReporterOptions): Drawer {
  const every = options.lineEveryMs ?? lineIntervalFromEnv() ?? 5000;
  const firstAfter = options.firstLineAfterMs ?? Math.min(1000, every);
  // Made on the first line: a command that ends quickly never loads the logger for progress.
  let logger = options.logger?.child({ module: 'progress' });
  const log = (): Logger => {
    if (logger) return logger;
    // Progress is a notice a person watching a pipe or a CI log wants even at the default level
    // (warn): a child at info carries it. Quieter levels were ruled out in progressMode.
    logger = getLogger('progress');
    if (logger.levelVal > 30) logger.level = 'info';
    return logger;
  };
  const fields = (track: Track, perSecond: number | undefined) => ({
    operation: track.event.operation,
    ...(track.event.detail ? { detail: track.event.detail } : {}),
    done: track.event.done,
    ...(track.event.total !== undefined ? { total: track.event.total } : {}),
    unit: track.event.unit,
    ...(perSecond !== undefined ? { perSecond: Math.round(perSecond * 10) / 10 } : {}),
  });
  return {
    update(_key, track, at) {
      if (track.finished) return;
      const elapsed = at - track.startedAt;
      if (elapsed < firstAfter || (track.lines > 0 && at - track.lastLineAt < every)) return;
      const perSecond = track.meter.perSecond();
      log().info(
        fields(track, perSecond),
        `${progressLabel(track.event)}: ${progressText(track.event, perSecond)}`,
      );
      track.lines += 1;
      track.lastLineAt = at;
    },
    close(track, at) {
      if (track.closed) return;
      track.closed = true;
      const elapsed = at - track.startedAt;
      if (track.lines === 0 && elapsed < firstAfter) return;
      log().info(
        { ...fields(track, undefined), seconds: Math.round(elapsed) / 1000, finished: track.finished },
        `${progressLabel(track.event)}: ${finishedText(track.event, elapsed)}${track.finished ? '' : ' (stopped)'}`,
      );
    },
    stop() {},
  };
}

/**
 * SLUICE_PROGRESS_INTERVAL (`30s`, `500ms`, a bare number is seconds): how often a long command
 * writes a progress line when stderr is not a terminal — longer for quieter CI logs.
 */
function lineIntervalFromEnv(): number | undefined {
  const text = process.env.SLUICE_PROGRESS_INTERVAL;
  if (text === undefined || text.trim() === '') return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw new UsageError(`SLUICE_PROGRESS_INTERVAL: ${(error as Error).message}`);
  }
  if (!(ms > 0))
    throw new UsageError(`SLUICE_PROGRESS_INTERVAL must be a duration above 0, got ${JSON.stringify(text)}`);
  return ms;
}

const BAR_WIDTH = 24;

/** One cli-progress bar per operation and unit; cli-progress redraws them at most 10 times a second. */
function barDrawer(stream: NonNullable<ProgressReporterOptions['stream']>): Drawer {
  // Loaded only when a bar is drawn: piped and scripted runs never pay for it.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  let multi: cliProgressModule.MultiBar | undefined;
  const bars = new Map<string, cliProgressModule.SingleBar>();
  const format = (
    _options: unknown,
    params: { progress: number },
    payload: { line?: string; known?: boolean },
  ) => {
    if (!payload.known) return payload.line ?? '';
    const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round(params.progress * BAR_WIDTH)));
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    return (payload.line ?? '').replace('\0', bar);
  };
  const payloadOf = (track: Track) => {
    const known = track.event.total !== undefined;
    const label = progressLabel(track.event);
    const text = track.finished
      ? formatAmount(track.event.done, track.event.unit)
      : progressText(track.event, track.meter.perSecond());
    return { known, line: known ? `${label} \0 ${text}` : `${label}  ${text}` };
  };
  return {
    update(key, track) {
      multi ??= new cliProgress.MultiBar({
        stream: stream as NodeJS.WriteStream,
        clearOnComplete: false,
        hideCursor: true,
        fps: 10,
        format: format as unknown as string,
      });
      const total = Math.max(track.event.total ?? 1, 1);
      let bar = bars.get(key);
      if (!bar) {
        bar = multi.create(total, track.event.done, payloadOf(track));
        bars.set(key, bar);
      }
      bar.setTotal(total);
      bar.update(track.event.total === undefined ? 0 : track.event.done, payloadOf(track));
    },
    close(track) {
      track.closed = true;
    },
    stop() {
      multi?.stop();
    },
  };
}
