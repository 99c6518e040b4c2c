import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import type { StoredPoint, TimeSeriesStore } from '../../src/timeseries/index.ts';
import type { Manifest, SegmentEntry } from '../../src/timeseries/manifest.ts';
import { decodeManifest } from '../../src/timeseries/manifest-codec.ts';

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
    .then((t) => decodeManifest(JSON.parse(t)))
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

/** A local store's manifest, as readers see it (version 2 flattened into entries). */
export async function readManifestFile(dir: string): Promise<Manifest> {
  return decodeManifest(JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')));
}

/**
 * Rewrites a closed local store into the layout of sluice before #21: each entry's rows moved to
 * a Parquet file of its own at `keyOf(entry)` (written by DuckDB's COPY, as that version did), and
 * a version-1 manifest listing them. Builds old stores from points without the old code.
 */
export async function toLegacyLayout(dir: string, keyOf: (e: SegmentEntry) => string): Promise<void> {
  const manifest = await readManifestFile(dir);
  const engine = await Engine.create({ threads: 1 });
  const segments: SegmentEntry[] = [];
  try {
    for (const e of manifest.segments) {
      const key = keyOf(e);
      const start = e.rowStart ?? 0;
      await fsp.mkdir(path.dirname(path.join(dir, key)), { recursive: true });
      await engine.query(
        `COPY (SELECT variable, ts, type, value, str, meta
               FROM read_parquet(${quoteLiteral(path.join(dir, e.key))}, file_row_number = true, hive_partitioning = false)
               WHERE file_row_number >= ${start} AND file_row_number < ${start + e.rows})
         TO ${quoteLiteral(path.join(dir, key))} (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2)`,
      );
      const { rowStart: _, file: __, ...rest } = e;
      segments.push({ ...rest, key, bytes: (await fsp.stat(path.join(dir, key))).size });
    }
  } finally {
    await engine.close();
  }
  for (const k of new Set(manifest.segments.map((e) => e.key))) {
    await fsp.rm(path.join(dir, k));
    await fsp.rmdir(path.dirname(path.join(dir, k))).catch(() => {}); // only if empty
  }
  await fsp.writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, version: 1, segments }));
}
