/**
 * Long-running sluice processes (`poll`, `worker`) under a supervisor: restarted whenever they
 * end — after a kill -9 from the soak, or on their own (a fail-fast exit while Redis is down) —
 * until the round stops them with SIGTERM. Also one-shot commands run to success through kills.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Procs, SluiceProc } from './procs.ts';
import type { Rng } from './rng.ts';

export interface ExitNote {
  kind: string;
  code: number | null;
  line: string;
}

/** First line of stderr that looks like an error (sluice prints `E0xx: …`). */
export function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  // The CLI's own last word (`E012: …`) beats a code quoted inside an earlier JSON log line.
  const line = lines.findLast((l) => /^E0\d\d: /.test(l)) ?? lines.find((l) => /\bE0\d\d\b/.test(l));
  return (line ?? lines.at(-1) ?? '').slice(0, 300);
}

export class Daemon {
  private current: SluiceProc | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  readonly exits: ExitNote[] = [];

  private readonly procs: Procs;
  readonly kind: string;
  private readonly args: string[];
  private readonly env: Record<string, string>;

  constructor(procs: Procs, kind: string, args: string[], env: Record<string, string> = {}) {
    this.procs = procs;
    this.kind = kind;
    this.args = args;
    this.env = env;
  }

  start(): void {
    this.loop = this.supervise();
  }

  private async supervise(): Promise<void> {
    while (!this.stopping) {
      const proc = this.procs.spawn(this.kind, this.args, { env: this.env });
      this.current = proc;
      const end = await proc.ended;
      if (this.stopping) break;
      if (!proc.killed) this.exits.push({ kind: this.kind, code: end.code, line: errorLine(proc.stderr()) });
      // A restart a moment later, as a process manager would.
      await sleep(proc.killed ? 150 : 500);
    }
  }

  /** kill -9 of the running process (the supervisor restarts it); false when none was running. */
  async kill9(): Promise<boolean> {
    const proc = this.current;
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return false;
    await proc.kill9();
    return proc.killed;
  }

  /** SIGTERM, then SIGKILL (uncounted) after `graceMs`; no restart. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const proc = this.current;
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      const done = await Promise.race([proc.ended.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        this.exits.push({
          kind: this.kind,
          code: null,
          line: `did not stop within ${graceMs} ms of SIGTERM`,
        });
        proc.child.kill('SIGKILL');
        await proc.ended;
      }
    }
    await this.loop;
  }
}

export interface OneShotResult {
  proc: SluiceProc;
  attempts: number;
  kills: number;
  /** Non-zero exits the soak did not cause, with their error line. */
  failures: ExitNote[];
}

export interface OneShotOptions {
  env?: Record<string, string>;
  /** Chance that an attempt is killed with SIGKILL at a random moment. */
  killChance: number;
  /** The kill lands within this many ms of the start. */
  killWithinMs: number;
  /** Attempts before giving up (the stage is then reported as failed). @default 12 */
  maxAttempts?: number;
  /** Called before each retry (say, to free the disk). */
  beforeRetry?: (failure: ExitNote | undefined) => void | Promise<void>;
}

/** Runs `sluice <args>` until it exits 0, killing attempts at random moments. */
export async function runToSuccess(
  procs: Procs,
  kind: string,
  args: string[],
  rng: Rng,
  options: OneShotOptions,
): Promise<OneShotResult> {
  const failures: ExitNote[] = [];
  let kills = 0;
  const max = options.maxAttempts ?? 12;
  for (let attempt = 1; ; attempt++) {
    // Late attempts are never killed, so a round always ends.
    const kill = attempt < max - 2 && rng.chance(options.killChance);
    // From 150 ms: earlier kills only ever hit module loading.
    const delay = rng.int(150, options.killWithinMs);
    const proc = procs.spawn(kind, args, options.env ? { env: options.env } : {});
    const timer = kill ? setTimeout(() => void proc.kill9(), delay) : undefined;
    const end = await proc.ended;
    clearTimeout(timer);
    if (proc.killed) kills++;
    else if (end.code === 0) return { proc, attempts: attempt, kills, failures };
    else failures.push({ kind, code: end.code, line: errorLine(proc.stderr()) });
    if (attempt >= max) {
      throw Object.assign(new Error(`sluice ${kind} did not succeed in ${max} attempts`), { failures });
    }
    await options.beforeRetry?.(proc.killed ? undefined : failures.at(-1));
    await sleep(proc.killed ? 100 : 500);
  }
}
