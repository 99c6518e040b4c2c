import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface S3rverHandle {
  endpoint: string;
  /** Resolves if the server process ends before stop() (a crash), with its exit and stderr. */
  crashed: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  stop(): Promise<void>;
}

/** Starts s3rver in a child process on a free port and resolves once it listens. */
export async function startS3rver(): Promise<S3rverHandle> {
  const directory = mkdtempSync(path.join(tmpdir(), 'sluice-s3rver-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(import.meta.dirname, 's3rver-child.ts'), directory],
    {
      env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s: ${stderr}`)), 20_000);
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code} before listening: ${stderr}`));
    });
  });
  let stopping = false;
  const crashed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => {
      child.once('exit', (code, signal) => {
        if (!stopping) resolve({ code, signal, stderr });
      });
    },
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    crashed,
    async stop() {
      stopping = true;
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
