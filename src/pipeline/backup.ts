/**
 * Backups and rollback of an environment's version. Files behind a manifest are immutable, so a
 * backup is the manifest saved under `_sluice/<env>/backups/<id>.json`; an env without one has its
 * plain files copied into `versions/<id>/` first. A backup is planned before it is written, so a
 * promotion can declare its outputs in the same batch of lineage intents as its own.
 */
import type { Environment } from '../config/schema.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import { type EnvManifest, type Lake, type LakeFile, MANIFEST_KEY, newVersionId } from './lake.ts';
import {
  fileFacts,
  type LakeLineage,
  type OutputRecord,
  type PlannedOutput,
  writtenText,
} from './lineage.ts';

export interface BackupPlan {
  env: Environment;
  id: string;
  /** The manifest the backup saves. */
  manifest: EnvManifest;
  /** Plain files (of an env without a manifest) to copy into the backup's version first. */
  copies: { from: LakeFile; to: string; sha256: string }[];
}

export function backupKey(id: string): string {
  return `backups/${id}.json`;
}

export async function planBackup(lake: Lake, env: Environment): Promise<BackupPlan> {
  const id = newVersionId();
  const manifest = await lake.readManifest(env);
  if (manifest) return { env, id, manifest, copies: [] };
  const copies: BackupPlan['copies'] = [];
  for (const f of (await lake.snapshot(env)).files) {
    // The hash sluice stored with the file (not read again), so the copy's record can name it.
    const sha256 = f.sha256 ?? (await lake.sha256Of(lake.storage, f.key));
    copies.push({ from: f, to: lake.internalKey(env, `versions/${id}/${f.path}`), sha256 });
  }
  const files = copies.map((c) => ({ ...c.from, key: c.to, sha256: c.sha256 }));
  return { env, id, manifest: { version: id, createdAt: new Date().toISOString(), files }, copies };
}

/** The backup's outputs, for a batch of lineage intents: each copy, then the backup file. */
export function backupOutputs(lake: Lake, lineage: LakeLineage, plan: BackupPlan): PlannedOutput[] {
  return [
    ...plan.copies.map((c) => ({
      key: c.to,
      operation: 'pipeline.backup',
      inputs: [lineage.fileInput(c.from.key, c.sha256, c.from.size)],
    })),
    { key: lake.internalKey(plan.env, backupKey(plan.id)), operation: 'pipeline.backup', inputs: [] },
  ];
}

/** Writes a planned backup; `records` are its outputs' lineage records, in backupOutputs' order. */
export async function writeBackup(lake: Lake, plan: BackupPlan, records: OutputRecord[]): Promise<string> {
  for (const [i, c] of plan.copies.entries()) {
    await lake.storage.copy(c.from.key, c.to);
    records[i]?.commit({ sha256: c.sha256, size: c.from.size, ...fileFacts(c.from) });
  }
  const text = JSON.stringify(plan.manifest, null, 2);
  await lake.internal(plan.env).put(backupKey(plan.id), text, { contentType: CONTENT_TYPES.json });
  records[plan.copies.length]?.commit(writtenText(text));
  return plan.id;
}

/** Plans and writes a backup of `env` under its own lineage records; returns its id. */
export async function createBackup(lake: Lake, lineage: LakeLineage, env: Environment): Promise<string> {
  const plan = await planBackup(lake, env);
  const recorded = lineage.withRun(plan.id);
  const batch = await recorded.begin(backupOutputs(lake, recorded, plan));
  try {
    await writeBackup(lake, plan, batch.records);
  } catch (error) {
    batch.abortOpen(error);
    await recorded.flushQuietly();
    throw error;
  }
  await recorded.flush();
  return plan.id;
}

/**
 * Publishes backup `id`'s manifest (and `raw`, its bytes) as `env`'s version after backing up the
 * current one: every write declared in one batch of intents (the new manifest's input is the
 * backup it restores), then the plain paths brought in line.
 */
export async function restoreBackup(
  lake: Lake,
  lineage: LakeLineage,
  env: Environment,
  id: string,
  backup: { manifest: EnvManifest; raw: Buffer },
): Promise<string> {
  const { manifest, raw } = backup;
  await lake.materialize(env, undefined, lineage);
  const plan = await planBackup(lake, env);
  const recorded = lineage.withRun(plan.id);
  const restored = { kind: 'version' as const, url: recorded.url(lake.internalKey(env, backupKey(id))) };
  const outputs = backupOutputs(lake, recorded, plan);
  const batch = await recorded.begin([
    ...outputs,
    {
      key: lake.internalKey(env, MANIFEST_KEY),
      operation: 'pipeline.rollback',
      inputs: [{ ...restored, sha256: writtenText(raw).sha256 }],
    },
  ]);
  try {
    await writeBackup(lake, plan, batch.records);
    batch.at(outputs.length).commit(await lake.writeManifest(env, manifest));
    await lake.materialize(env, undefined, recorded);
  } catch (error) {
    batch.abortOpen(error);
    await recorded.flushQuietly();
    throw error;
  }
  await recorded.flush();
  return plan.id;
}
