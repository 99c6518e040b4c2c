import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { StoredPoint, TimeSeriesStore } from '../../src/timeseries/index.ts';

/** Every point of every variable, by variable. */
export async function snapshot(store: TimeSeriesStore): Promise<Record<string, StoredPoint[]>> {
  const out: Record<string, StoredPoint[]> = {};
  for (const v of await store.variables()) out[v] = await store.queryAll(v);
  return out;
}

/**
 * The files under a local store's `segments/` folder (temp files included), split into those
 * its manifest names and the rest, as sorted keys relative to the store.
 */
export async function segmentFiles(dir: string): Promise<{ live: string[]; orphans: string[] }> {
  const manifest = await fsp
    .readFile(path.join(dir, 'manifest.json'), 'utf8')
    .then((t) => JSON.parse(t) as { segments: { key: string }[] })
    .catch(() => ({ segments: [] }));
  const named = new Set(manifest.segments.map((s) => s.key));
  const files = await fsp
    .readdir(path.join(dir, 'segments'), { recursive: true, withFileTypes: true })
    .catch(() => []);
  const keys = files
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
  return { live: keys.filter((k) => named.has(k)), orphans: keys.filter((k) => !named.has(k)) };
}
