/**
 * The folders under a local root that hold a lineage log of their own (`_sluice/lineage/`), so
 * `sluice lineage verify .` in a demo or project folder also checks the lake's log in `lake/`,
 * which is where a user expects it to look. Only local folders are searched: listing a whole
 * bucket to find logs would cost what the user did not ask for (an S3 root is verified alone).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** How deep below the root to look: a lake sits one or two levels down, never ten. */
const MAX_DEPTH = 4;
/** Folders that never hold a lake of the user's (and can be huge). */
const SKIPPED = new Set(['node_modules', '_sluice']);

const hasLog = (dir: string) => existsSync(path.join(dir, '_sluice', 'lineage'));

/** `root` itself (always first), then every folder below it holding `_sluice/lineage/`, sorted. */
export async function lineageRootsUnder(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished while walking: nothing of it to verify
    }
    for (const e of entries) {
      // Symlinks are not followed: a link back up the tree would loop, and its target is verified where it lives.
      if (!e.isDirectory() || e.name.startsWith('.') || SKIPPED.has(e.name)) continue;
      const sub = path.join(dir, e.name);
      if (hasLog(sub)) found.push(sub);
      await walk(sub, depth + 1);
    }
  };
  await walk(root, 1);
  return [root, ...found.sort()];
}
