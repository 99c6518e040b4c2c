/**
 * A private redis-server in a child process, without vitest, so tests (test/cli/stop-helpers.ts)
 * and the fault soak (soak/) share one way to start, kill and restart it. Never the shared Redis
 * on 6379: always a port of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port nothing listens on (just released by the OS). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  /** @default a free port */
  port?: number;
  /**
   * Folder for an append-only file fsynced on every write (`appendfsync always`): a restart,
   * even after SIGKILL, keeps every acknowledged write. @default no persistence at all
   */
  aofDir?: string;
  /** @default 20000 */
  readyTimeoutMs?: number;
}

export interface RedisServer {
  port: number;
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resolves when the server process has ended. */
  exited: Promise<void>;
  /** Kills the server (SIGKILL by default) and waits for it to end; safe to call twice. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts redis-server and resolves once it accepts connections. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const persistence = options.aofDir
    ? ['--dir', options.aofDir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
    : ['--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  while (!log.includes('Ready to accept connections')) {
    if (ended) throw new Error(`redis-server on port ${port} exited before it was ready: ${log.slice(-500)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} was not ready in time: ${log.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { port, url: `redis://127.0.0.1:${port}/0`, pid: child.pid ?? 0, child, exited, stop };
}
