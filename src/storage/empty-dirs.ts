/**
 * Folders under a local output that deletes left empty are removed, up to its root: on S3 a
 * "folder" ends with its last object, and a reader globbing a local copy should see the same
 * tree (a rewritten partitioned output left `region=b/` behind). Object metadata lives under the
 * root's `_sluice/meta/`, so no metadata folder keeps a data folder alive.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';

/** Removes each file's parent folders while they are empty, deepest first; never `root`. */
export async function removeEmptyParents(root: string, files: readonly string[]): Promise<void> {
  const top = path.resolve(root);
  const folders = new Set<string>();
  for (const file of files) {
    for (
      let dir = path.dirname(path.resolve(file));
      dir.startsWith(`${top}${path.sep}`);
      dir = path.dirname(dir)
    )
      folders.add(dir);
  }
  // Deepest first, so a parent is tried after its children went.
  const ordered = [...folders].sort((a, b) => b.split(path.sep).length - a.split(path.sep).length);
  for (const dir of ordered) await removeIfEmpty(dir);
}

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await fsp.rmdir(dir);
  } catch {
    // Not empty (or already gone): keep it.
  }
}
