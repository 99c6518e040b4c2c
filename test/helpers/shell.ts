/**
 * Runs documented commands the way a user's shell session would: one bash command line at a time,
 * where a `cd` (alone or inside `cd x && …`) moves the session for the lines after it, `$?` is
 * the previous line's status, and `sluice` / `npx sluice` are the checkout's CLI from source.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cli.ts';

/**
 * A folder to put first on PATH: `sluice` runs src/cli/main.ts on this Node (what bin/sluice.js
 * runs once built; the docs' bare `sluice` after `npm link`), and `npx sluice` does the same (what
 * npx finds inside a checkout, see test/pipeline/demo-hint.test.ts). Any other npx use fails.
 */
export function sluiceShims(dir: string, options: { bare?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  const cli = `exec "${process.execPath}" "${path.join(REPO_ROOT, 'src/cli/main.ts')}" "$@"`;
  // Without the bare name (bare: false), sluice prints its hints as `npx sluice …`.
  if (options.bare !== false) writeFileSync(path.join(dir, 'sluice'), `#!/bin/sh\n${cli}\n`, { mode: 0o755 });
  writeFileSync(
    path.join(dir, 'npx'),
    `#!/bin/sh\nif [ "$1" = sluice ]; then shift; ${cli}; fi\necho "the docs' examples may use npx only as npx sluice, not: npx $*" >&2\nexit 127\n`,
    { mode: 0o755 },
  );
  return dir;
}

export interface ShellResult {
  status: number;
  stdout: string;
  stderr: string;
  /** The session's folder after the line (a `cd` in it moves it). */
  cwd: string;
  ms: number;
}

export interface ShellOptions {
  cwd: string;
  /** A folder of the test's own, outside the examples' folders, for the session's bookkeeping. */
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** `$?` for this line: the status of the line before. @default 0 */
  previousStatus?: number;
  /** Give up (and fail) after this long. @default 120000 */
  timeoutMs?: number;
  /** For commands that run until stopped: press Ctrl-C after this long. */
  interruptAfterMs?: number;
}

/** Runs one command line in bash from `cwd` and reports its status, output and the new cwd. */
export function runLine(command: string, options: ShellOptions): Promise<ShellResult> {
  const cwdFile = path.join(options.stateDir, `cwd-${Math.random().toString(36).slice(2)}`);
  // `(exit N)` sets $?; the trailer records where the line left the session and keeps its status.
  const script = `(exit ${options.previousStatus ?? 0})\n${command}\n__status=$?\npwd > '${cwdFile}'\nexit $__status\n`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Its own process group, so Ctrl-C reaches bash and the command as a terminal's would.
    const child = spawn('bash', ['-c', script], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const group = (signal: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // already gone
      }
    };
    const timers = [
      setTimeout(() => {
        stderr += `\n[test: no end after ${options.timeoutMs ?? 120_000} ms, killed]`;
        group('SIGKILL');
      }, options.timeoutMs ?? 120_000),
    ];
    if (options.interruptAfterMs !== undefined) {
      timers.push(setTimeout(() => group('SIGINT'), options.interruptAfterMs));
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      let cwd = options.cwd;
      try {
        cwd = readFileSync(cwdFile, 'utf8').trim() || cwd;
      } catch {
        // bash ended by a signal before the trailer: the session stays where it was
      }
      rmSync(cwdFile, { force: true });
      const status = code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 9);
      resolve({ status, stdout, stderr, cwd, ms: performance.now() - started });
    });
  });
}
