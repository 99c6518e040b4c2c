/**
 * sluice processes of the soak: each one a child process running the CLI from source, its
 * stderr kept in a log per kind, its peak RSS measured (sampled from /proc while it runs, and
 * reported by the process itself at exit through soak/preload.ts), and `kill -9` on demand.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO_ROOT, 'src/cli/main.ts');
const PRELOAD = path.join(REPO_ROOT, 'soak/preload.ts');

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SluiceProc {
  kind: string;
  pid: number;
  child: ChildProcess;
  ended: Promise<Ended>;
  /** True once it ended by the soak's SIGKILL (not when it had exited on its own first). */
  readonly killed: boolean;
  stdout(): string;
  stderr(): string;
  /** kill -9, counted; resolves when the process is gone. No-op if it already ended. */
  kill9(): Promise<void>;
  /** A polite stop (SIGTERM), not counted as a fault. */
  stop(signal?: NodeJS.Signals): Promise<Ended>;
}

export interface KindStats {
  runs: number;
  kills: number;
  /** Exits with a non-zero code that the soak did not cause. */
  failures: number;
  peakRssKb: number;
  /** stderr lines that name ENOSPC / "no space left" / "disk full". */
  enospcLines: number;
}

const ENOSPC = /ENOSPC|no space left|disk (is )?full|SQLITE_FULL/i;

export class Procs {
  readonly stats = new Map<string, KindStats>();
  private readonly live = new Map<number, { kind: string }>();
  private readonly sampler: NodeJS.Timeout;
  private readonly rssDir: string;
  private readonly logDir: string;
  private readonly baseEnv: Record<string, string>;

  constructor(runDir: string, env: Record<string, string>) {
    this.rssDir = path.join(runDir, 'rss');
    this.logDir = path.join(runDir, 'logs');
    mkdirSync(this.rssDir, { recursive: true });
    mkdirSync(this.logDir, { recursive: true });
    this.baseEnv = env;
    this.sampler = setInterval(() => this.sample(), 100);
    this.sampler.unref();
  }

  kind(kind: string): KindStats {
    let s = this.stats.get(kind);
    if (!s) {
      s = { runs: 0, kills: 0, failures: 0, peakRssKb: 0, enospcLines: 0 };
      this.stats.set(kind, s);
    }
    return s;
  }

  /** Starts `sluice <args>`. */
  spawn(
    kind: string,
    args: string[],
    options: { env?: Record<string, string>; cwd?: string } = {},
  ): SluiceProc {
    const stats = this.kind(kind);
    stats.runs++;
    const nodeOptions = [process.env.NODE_OPTIONS ?? '', `--import=${PRELOAD}`].join(' ').trim();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: {
        ...process.env,
        SLUICE_LOG_LEVEL: 'warn',
        SLUICE_PROGRESS: '0',
        ...this.baseEnv,
        ...options.env,
        NODE_OPTIONS: nodeOptions,
        SOAK_RSS_DIR: this.rssDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid ?? 0;
    // The child writes its report only at exit: any file of this PID now is a stale one.
    rmSync(path.join(this.rssDir, String(pid)), { force: true });
    this.live.set(pid, { kind });
    let out = '';
    let err = '';
    let killRequested = false;
    let killed = false;
    const logFile = path.join(this.logDir, `${kind}.log`);
    appendFileSync(logFile, `\n=== ${new Date().toISOString()} pid ${pid}: sluice ${args.join(' ')}\n`);
    child.stdout?.on('data', (d: Buffer) => {
      if (out.length < 1 << 20) out += d;
    });
    child.stderr?.on('data', (d: Buffer) => {
      const text = String(d);
      err = (err + text).slice(-65536);
      appendFileSync(logFile, text);
      for (const line of text.split('\n')) if (ENOSPC.test(line)) stats.enospcLines++;
    });
    const ended = new Promise<Ended>((resolve) => {
      child.on('close', (code, signal) => {
        this.live.delete(pid);
        this.readExitRss(pid, stats);
        if (out)
          appendFileSync(logFile, `--- stdout\n${out.slice(0, 8192)}${out.length > 8192 ? '\n…' : ''}\n`);
        appendFileSync(logFile, `=== pid ${pid} ended: code ${code} signal ${signal}\n`);
        // Counted only when the kill is what ended it: a process that exited on its own just
        // before the signal was not killed.
        if (killRequested && signal === 'SIGKILL') {
          killed = true;
          stats.kills++;
        }
        if (!killed && code !== 0 && code !== null) stats.failures++;
        resolve({ code, signal });
      });
    });
    const proc: SluiceProc = {
      kind,
      pid,
      child,
      ended,
      get killed() {
        return killed;
      },
      stdout: () => out,
      stderr: () => err,
      kill9: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        this.sampleOne(pid, stats);
        killRequested = true;
        child.kill('SIGKILL');
        await ended;
      },
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return ended;
      },
    };
    return proc;
  }

  /** Ends every process still running (SIGKILL, not counted) and stops sampling. */
  async close(): Promise<void> {
    clearInterval(this.sampler);
    for (const pid of this.live.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  /** Peak RSS over every run of every kind, from the exit reports too. */
  peakRssKb(): number {
    let peak = 0;
    for (const s of this.stats.values()) peak = Math.max(peak, s.peakRssKb);
    return peak;
  }

  private sample(): void {
    for (const [pid, { kind }] of this.live) this.sampleOne(pid, this.kind(kind));
  }

  private sampleOne(pid: number, stats: KindStats): void {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) stats.peakRssKb = Math.max(stats.peakRssKb, Number(m[1]));
    } catch {
      // Gone between the listing and the read.
    }
  }

  private readExitRss(pid: number, stats: KindStats): void {
    const file = path.join(this.rssDir, String(pid));
    try {
      const kb = Number(readFileSync(file, 'utf8'));
      if (Number.isFinite(kb)) stats.peakRssKb = Math.max(stats.peakRssKb, kb);
    } catch {
      // Killed: no exit report; the samples stand.
    }
    // PIDs wrap (32768 here): a report left behind would be read for a later process.
    rmSync(file, { force: true });
  }
}
