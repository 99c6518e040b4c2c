/**
 * The run's temp folder (see TEST_TMPDIR in vitest.config.ts): created by the global setup,
 * checked empty by its teardown. Folders of earlier runs that were killed before their teardown
 * are removed when their vitest process is gone.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

// Not "sluice-…": tests check that messages name no sluice-<label>- temp folder of the code.
const RUN_FOLDER = /^sluicetests-run-(\d+)$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `dir`, makes it this process's TMPDIR and returns a function restoring the old one. */
export function openRunTempDir(dir: string): () => void {
  const parent = path.dirname(dir);
  for (const name of readdirSync(parent)) {
    const pid = RUN_FOLDER.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !alive(Number(pid))) {
      rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // As /tmp itself (sticky, open to all): tests run the CLI as `nobody` to meet file modes.
  chmodSync(dir, 0o1777);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  };
}

/**
 * What programs keep in the temp dir on purpose, as they do for a user: Node's compile cache
 * (bin/sluice.js enables it), and the folder of the writer's S3 lock files (src/writer/lock.ts)
 * as long as no lock file is left in it.
 */
function meantToStay(dir: string, name: string): boolean {
  if (name === 'node-compile-cache') return true;
  return name === 'sluice-locks' && readdirSync(path.join(dir, name)).length === 0;
}

/** What is left in `dir`, one line per top-level entry: its name, kind and number of files. */
export function leftoversIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((name) => !meantToStay(dir, name))
      .sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const full = path.join(dir, name);
    const st = lstatSync(full, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return `${name} (file)`;
    const files = readdirSync(full, { recursive: true }).length;
    return `${name}/ (${files} entr${files === 1 ? 'y' : 'ies'} inside)`;
  });
}
