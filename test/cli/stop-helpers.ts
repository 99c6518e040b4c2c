/**
 * Child-process helpers for the stop and fail-fast tests: run `sluice` from source, signal it at
 * a chosen moment and time how long it takes to end; start a private redis-server on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { startRedisServer } from '../helpers/redis-server.ts';

export { freePort } from '../helpers/redis-server.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the child ended (Date.now()). */
  at: number;
}

export interface RunningSluice {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  ended: Promise<Ended>;
  /** Sends `signal` and resolves once the child has ended, with the time that took. */
  stop: (signal: NodeJS.Signals) => Promise<Ended & { ms: number }>;
}

/** Starts `sluice <args>`; killed with SIGKILL when the test ends, whatever happened. */
export function startSluice(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): RunningSluice {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    // Progress lines of a stopped command are tested in test/cli/progress-*.test.ts.
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', SLUICE_PROGRESS: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const ended = new Promise<Ended>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    ended,
    stop: async (signal) => {
      const sent = Date.now();
      child.kill(signal);
      const end = await ended;
      return { ...end, ms: end.at - sent };
    },
  };
}

/** Polls `check` every 25 ms until it returns a truthy value; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; child?: RunningSluice } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let exited = false;
  void options.child?.ended.then(() => {
    exited = true;
  });
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (exited) throw new Error(`sluice ended before ${what}: ${options.child?.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface PrivateRedis {
  port: number;
  url: string;
  stop: () => Promise<void>;
}

/** A private redis-server (no persistence) on `port` or a free one; stopped when the test ends. */
export async function startRedis(port?: number): Promise<PrivateRedis> {
  const server = await startRedisServer(port === undefined ? {} : { port });
  const stop = () => server.stop();
  onTestFinished(stop);
  return { port: server.port, url: server.url, stop };
}
