/**
 * Loaded into every sluice process of the soak (`node --import`): at exit it writes the
 * process's peak RSS (kB, from getrusage) to `$SOAK_RSS_DIR/<pid>`. A process killed with
 * SIGKILL writes nothing; the soak's /proc samples cover it. When the soak could not mount a
 * tmpfs it also installs the fs fault layer (soak/enospc-layer.ts).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.SOAK_RSS_DIR;
if (dir) {
  process.on('exit', () => {
    try {
      writeFileSync(path.join(dir, String(process.pid)), String(process.resourceUsage().maxRSS));
    } catch {
      // The report is best effort; never change how the process ends.
    }
  });
}
if (process.env.SOAK_ENOSPC_DIR) await import('./enospc-layer.ts');
