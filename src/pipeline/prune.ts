/**
 * Garbage collection of promoted versions: files under `_sluice/<env>/versions/` that neither the
 * current manifest nor any kept backup names. Unreferenced files younger than `minAgeMs` are
 * kept, because a promotion that is copying right now has not published its manifest yet.
 */
import type { Environment } from '../config/schema.ts';
import { type EnvManifest, type Lake, RESERVED_FOLDER } from './lake.ts';
import type { LakeLineage } from './lineage.ts';
import { getVerified } from './verified-get.ts';

export interface PruneOptions {
  /** Backups kept (newest first); older backup manifests are deleted. @default 10 */
  keepBackups?: number;
  /** Unreferenced files younger than this are kept. @default 3,600,000 (1 hour) */
  minAgeMs?: number;
  dryRun?: boolean;
}

export interface PruneResult {
  deletedBackups: string[];
  deletedFiles: string[];
  bytes: number;
}

export async function pruneVersions(
  lake: Lake,
  env: Environment,
  options: PruneOptions = {},
  lineage?: LakeLineage,
): Promise<PruneResult> {
  const keep = options.keepBackups ?? 10;
  const minAge = options.minAgeMs ?? 3_600_000;
  await lake.ready(env);
  const store = lake.internal(env);
  const internalPrefix = `${RESERVED_FOLDER}/${env}/`;
  const backups: string[] = [];
  for await (const e of store.list({ prefix: 'backups/' })) if (e.type === 'object') backups.push(e.key);
  backups.sort().reverse();
  const kept = backups.slice(0, keep);
  const referenced = new Set<string>();
  const current = await lake.readManifest(env);
  for (const f of current?.files ?? []) referenced.add(f.key);
  for (const key of kept) {
    const m = JSON.parse((await getVerified(store, key)).toString('utf8')) as EnvManifest;
    for (const f of m.files) referenced.add(f.key);
  }
  const result: PruneResult = { deletedBackups: backups.slice(keep), deletedFiles: [], bytes: 0 };
  const now = Date.now();
  for await (const e of store.list({ prefix: 'versions/' })) {
    if (e.type !== 'object') continue;
    // Manifests name files from the lake root.
    if (referenced.has(`${internalPrefix}${e.key}`) || now - e.mtime.getTime() < minAge) continue;
    result.deletedFiles.push(e.key);
    result.bytes += e.size;
  }
  if (!options.dryRun) {
    // Recorded as deleted before they go: `lineage verify` expects them gone, not missing.
    lineage?.deleting(
      [...result.deletedFiles, ...result.deletedBackups].map((k) => `${internalPrefix}${k}`),
      'pipeline.prune',
    );
    await lineage?.flush();
    // Files first: a backup manifest is never left naming files that are gone.
    await store.deleteMany(result.deletedFiles);
    await store.deleteMany(result.deletedBackups);
  }
  return result;
}
