/**
 * How a user runs sluice from the shell they are in, for the commands sluice prints as hints:
 * `sluice` when a `sluice` executable is on PATH, else `npx sluice` (after `npm ci` in a
 * checkout, or `npx sluice demo`, the bare name is not on PATH and the hint would not run).
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function invokedAs(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '' || dir.includes(`${path.sep}node_modules${path.sep}.bin`)) continue;
    try {
      accessSync(path.join(dir, 'sluice'), constants.X_OK);
      return 'sluice';
    } catch {
      // not in this folder
    }
  }
  return 'npx sluice';
}

/**
 * `text` with each command it quotes as `` `sluice …` `` written as this shell runs it, so that
 * the commands errors suggest run as printed (library errors cannot know how sluice was started).
 */
export function asThisShellRunsIt(text: string, env: NodeJS.ProcessEnv = process.env): string {
  const sluice = invokedAs(env);
  return sluice === 'sluice' ? text : text.replaceAll('`sluice ', `\`${sluice} `);
}
