/** Roots in the metadata layout of earlier versions: `<dir>/.sluice-meta/<name>.json` beside each file. */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LegacyObject {
  key: string;
  body: string | Buffer;
  metadata?: Record<string, string>;
  contentType?: string;
}

/** Writes the file, then its sidecar as the old fs driver did (bound to the file's inode, size and mtime). */
export function writeLegacyObject(root: string, object: LegacyObject): string {
  const file = path.join(root, ...object.key.split('/'));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, object.body);
  const st = statSync(file);
  const metaDir = path.join(path.dirname(file), '.sluice-meta');
  mkdirSync(metaDir, { recursive: true });
  const sidecar = {
    ino: st.ino,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ...(object.contentType ? { contentType: object.contentType } : {}),
    metadata: object.metadata ?? {},
  };
  const target = path.join(metaDir, `${path.basename(file)}.json`);
  writeFileSync(target, JSON.stringify(sidecar));
  return target;
}

/** Every file under `dir`, relative with `/`, sorted. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** `count` objects with metadata spread over `folders` folders: `f<i>/o<j>.csv`, metadata `{ sha256: 'h<i>-<j>' }`. */
export function legacyTree(
  root: string,
  count: number,
  folders: number,
): Map<string, Record<string, string>> {
  const expected = new Map<string, Record<string, string>>();
  for (let n = 0; n < count; n++) {
    const key = `f${n % folders}/o${n}.csv`;
    const metadata = { sha256: `h${n}`, rows: String(n) };
    writeLegacyObject(root, { key, body: `x\n${n}\n`, metadata });
    expected.set(key, metadata);
  }
  return expected;
}
