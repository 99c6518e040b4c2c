/**
 * The soak's small disk: a tmpfs mounted (as root) at `<run>/disk`, which a filler file fills
 * until the kernel answers ENOSPC and which is freed again by deleting the filler. Where the
 * mount is refused (no root, no CAP_SYS_ADMIN) the soak says so and falls back to an fs fault
 * layer loaded into every sluice process (soak/enospc-layer.ts): while the flag file exists,
 * JavaScript writes under the folder fail with ENOSPC. That layer cannot reach native writers
 * (SQLite, DuckDB), which the report states.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

export interface FaultDisk {
  readonly dir: string;
  readonly mode: 'tmpfs' | 'fs-layer';
  /** Why the tmpfs could not be used (fs-layer mode). */
  readonly reason?: string;
  /** Environment for sluice processes (the fs layer's settings in fs-layer mode). */
  readonly env: Record<string, string>;
  /** Fills the disk; returns true when ENOSPC was seen (the filler's own write refused). */
  fill(): boolean;
  free(): void;
  /** Windows of a full disk so far, and ENOSPC answers the filler saw. */
  readonly windows: number;
  readonly fillerEnospc: number;
  /** ENOSPC errors the fs layer injected (fs-layer mode). */
  layerInjected(): number;
  freeBytes(): number;
  close(): void;
}

export function openFaultDisk(runDir: string, size: string, forceLayer: boolean): FaultDisk {
  const dir = path.join(runDir, 'disk');
  mkdirSync(dir, { recursive: true });
  let reason: string | undefined;
  if (forceLayer) reason = '--no-tmpfs was given';
  else {
    const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
    if (res.status !== 0) reason = (res.stderr || res.error?.message || `mount exited ${res.status}`).trim();
  }
  return reason === undefined ? tmpfsDisk(dir) : layerDisk(runDir, dir, reason);
}

function tmpfsDisk(dir: string): FaultDisk {
  const filler = path.join(dir, '.soak-filler');
  let windows = 0;
  let fillerEnospc = 0;
  return {
    dir,
    mode: 'tmpfs',
    env: {},
    fill() {
      windows++;
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(256 * 1024, 0x78);
      try {
        for (let i = 0; i < 1 << 16; i++) {
          try {
            writeSync(fd, block);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
            fillerEnospc++;
            return true;
          }
        }
        return false;
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    get windows() {
      return windows;
    },
    get fillerEnospc() {
      return fillerEnospc;
    },
    layerInjected: () => 0,
    freeBytes() {
      const st = statfsSync(dir);
      return st.bavail * st.bsize;
    },
    close() {
      if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
    },
  };
}

function layerDisk(runDir: string, dir: string, reason: string): FaultDisk {
  const flag = path.join(runDir, 'enospc.flag');
  const log = path.join(runDir, 'enospc.log');
  writeFileSync(log, '');
  let windows = 0;
  return {
    dir,
    mode: 'fs-layer',
    reason,
    env: { SOAK_ENOSPC_DIR: dir, SOAK_ENOSPC_FLAG: flag, SOAK_ENOSPC_LOG: log },
    fill() {
      windows++;
      writeFileSync(flag, '1');
      return false;
    },
    free() {
      rmSync(flag, { force: true });
    },
    get windows() {
      return windows;
    },
    fillerEnospc: 0,
    layerInjected() {
      return readFileSync(log, 'utf8').length;
    },
    freeBytes() {
      const st = statfsSync(dir);
      return st.bavail * st.bsize;
    },
    close() {
      rmSync(flag, { force: true });
    },
  };
}
