/**
 * One SIGINT/SIGTERM policy for every command (Unix manners: 130 on Ctrl-C, 143 on SIGTERM).
 * The first signal aborts `commandSignal()`: a long command stops taking work, finishes or gives
 * back what is in flight and removes its temp files; `runCli` then prints one line saying what
 * was kept and returns 130/143, and `main` ends the process by that same signal. A command still
 * running after the grace period is ended the same way (its private temp folders removed
 * first); a second signal does it at once, and so does the first when the command has declared
 * no stop of its own (neither `commandSignal()` nor `describeInterruption()`; `storage cat` of a
 * FIFO, `ls`): it has nothing to unwind, so a grace would only make Ctrl-C feel slow.
 *
 * Why die by the signal rather than `process.exit(130)`: at exit libuv joins its thread pool,
 * so a DuckDB scan that cannot be interrupted (a full-file CSV sniff) would hold the exit for
 * seconds or minutes. Re-raising the signal with its default action ends the process at once,
 * and shells, CI runners, Docker and Kubernetes report it as exit status 130/143 (128 + signal);
 * it is also what a calling shell needs to stop a loop on Ctrl-C.
 */
import { removeAllNow } from '../util/exit-cleanup.ts';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Time a command gets to unwind after the first signal; the whole stop stays within 2 s. */
export const DEFAULT_STOP_GRACE_MS = 1300;

interface Stop {
  controller: AbortController;
  /** Time from the first signal to the forced end (see setStopGrace). */
  graceMs: number;
  received: StopSignal | undefined;
  /** Whether the command took `commandSignal()` or described its stop: it has one to run. */
  taken: boolean;
  describe: (() => string) | undefined;
  timer: NodeJS.Timeout | undefined;
}

let current: Stop | undefined;

/**
 * Routes SIGINT/SIGTERM to the command being run; returns the function that removes the
 * handlers (the signals' default actions come back).
 */
export function installSignalHandlers(options: { graceMs?: number } = {}): () => void {
  const stop: Stop = {
    controller: new AbortController(),
    graceMs: options.graceMs ?? DEFAULT_STOP_GRACE_MS,
    received: undefined,
    taken: false,
    describe: undefined,
    timer: undefined,
  };
  current = stop;
  const onSignal = (signal: StopSignal) => {
    if (stop.received) return exitNow(stop);
    stop.received = signal;
    if (!stop.taken) return exitNow(stop);
    stop.controller.abort(new DOMException(`interrupted by ${signal}`, 'AbortError'));
    stop.timer = setTimeout(() => exitNow(stop), stop.graceMs);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    clearTimeout(stop.timer);
    if (current === stop) current = undefined;
  };
}

/**
 * A longer unwind for the running command than the default: `sluice serve` drains in-flight
 * requests for its configured grace period, then gets this long before the process is ended.
 */
export function setStopGrace(graceMs: number): void {
  if (current) current.graceMs = graceMs;
}

/** Aborts on the first SIGINT/SIGTERM; pass it to every long operation of a command. */
export function commandSignal(): AbortSignal {
  if (!current) return new AbortController().signal;
  current.taken = true;
  return current.controller.signal;
}

/**
 * What the command has kept so far, for the line printed when a signal ends it, e.g.
 * `1,200 jobs done, current job returned to the queue`. Called when that line is printed.
 */
export function describeInterruption(describe: () => string): void {
  if (!current) return;
  current.describe = describe;
  current.taken = true;
}

/** The signal that stopped the command, if one did. */
export function interruptedBy(): StopSignal | undefined {
  return current?.received;
}

/** Prints the one line about the stop and returns the exit code (130 or 143). */
export function reportInterruption(signal: StopSignal): number {
  process.stderr.write(`${interruptionLine(signal, current?.describe)}\n`);
  return SIGNAL_EXIT_CODES[signal];
}

function interruptionLine(signal: StopSignal, describe: (() => string) | undefined): string {
  let kept = 'stopped';
  try {
    kept = describe?.() ?? kept;
  } catch {
    // The line must still be printed.
  }
  return `interrupted (${signal}): ${kept}`;
}

/**
 * The command did not unwind in time (or a second signal came). process.exit would wait for
 * work still running in libuv's thread pool (a DuckDB scan cannot be interrupted mid-sniff, and
 * libuv joins those threads at exit), so after the line and the temp folders, the process dies
 * by the signal itself: at once, and shells report it as the same 130/143.
 */
function exitNow(stop: Stop): void {
  const signal = stop.received ?? 'SIGINT';
  process.stderr.write(`${interruptionLine(signal, stop.describe)}\n`);
  endBySignal(signal);
}

/** Removes private temp folders, then ends the process by `signal` (default action), at once. */
export function endBySignal(signal: StopSignal): void {
  removeAllNow();
  process.removeAllListeners(signal); // back to the default action: terminate
  process.kill(process.pid, signal);
  // Not reached when the signal is delivered; a last resort if it is not.
  setTimeout(() => process.exit(SIGNAL_EXIT_CODES[signal]), 100).unref();
}

/** The signal a 130/143 exit code stands for. */
export function signalOfExitCode(code: number): StopSignal | undefined {
  if (code === SIGNAL_EXIT_CODES.SIGINT) return 'SIGINT';
  if (code === SIGNAL_EXIT_CODES.SIGTERM) return 'SIGTERM';
  return undefined;
}
