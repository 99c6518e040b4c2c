import { spawnSync } from 'node:child_process';

/** A pid that belonged to a process that has exited (a lock holder killed with -9, say). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}
