/**
 * Private temp paths that must not outlive the process. Each is removed by its owner when done;
 * whatever is still registered when the process exits (normally, through `process.exit`, or the
 * CLI's SIGINT/SIGTERM handler) is removed synchronously in the 'exit' hook, so staged plaintext
 * never stays behind. Only SIGKILL and power loss escape it.
 */
import { rmSync } from 'node:fs';

const paths = new Set<string>();
let hooked = false;

/** Removes every registered path now, synchronously (exit hook; a process about to die by a signal). */
export function removeAllNow(): void {
  for (const p of paths) {
    try {
      // A writer thread (DuckDB) may add a file while the folder goes: retry briefly.
      rmSync(p, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
    } catch {
      // Exiting: nothing left to report to.
    }
  }
  paths.clear();
}

/** Registers `path` for removal at exit; returns the function that unregisters it. */
export function removeAtExit(path: string): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', removeAllNow);
  }
  paths.add(path);
  return () => {
    paths.delete(path);
  };
}
