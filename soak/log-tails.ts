/**
 * On a failing run: the last warnings and errors each long-running process logged, with the
 * lines that say when it was started and how it ended, so a failure that depends on timing can be
 * read from the run's output (CI keeps nothing else).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const WORTH = /^===|"level":(40|50|60)|\bE0\d\d\b|Error|ENOSPC/;

export function printDaemonLogTails(runDir: string, log: (l: string) => void, lines = 40): void {
  for (const kind of ['worker', 'poll']) {
    const file = path.join(runDir, 'logs', `${kind}.log`);
    if (!existsSync(file)) continue;
    const worth = readFileSync(file, 'utf8')
      .split('\n')
      // The sidecars' E062 dead-letters are expected in every round.
      .filter((l) => WORTH.test(l) && !l.includes('E062'));
    log(
      `--- ${kind}.log: last ${Math.min(lines, worth.length)} of ${worth.length} start, end, warning and error lines`,
    );
    for (const l of worth.slice(-lines)) log(`  ${l.slice(0, 300)}`);
  }
}
