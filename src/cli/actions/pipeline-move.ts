/** `sluice sync|diff|promote|rollback|prune`: moving data between storages and environments. */
import { locateConfigFile } from '../../config/names.ts';
import type { DataPromoter } from '../../pipeline/promoter.ts';
import { openStorage } from '../../storage/open.ts';
import type { Storage } from '../../storage/types.ts';
import type { SyncOptions } from '../../sync/sync.ts';
import { formatBytes } from '../../util/sizes.ts';
import { lazy } from '../lazy.ts';
import { printJson } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import { assertLakeExists, loadConfig } from './pipeline-config.ts';

const promoterModule = lazy(() => import('../../pipeline/promoter.ts'));
const syncModule = lazy(() => import('../../sync/sync.ts'));
const synchronizerModule = lazy(() => import('../../sync/synchronizer.ts'));

/** The flags `sync` and `diff` share, as commander parsed them. */
export interface SyncFlags {
  include: string[];
  exclude: string[];
  concurrency: number;
  cache: boolean;
  json?: boolean;
  config?: string;
}

export type SyncCommandFlags = SyncFlags & { delete?: boolean; maxDelete?: number; dryRun?: boolean };
export type PromoteOptions = { dryRun?: boolean; config?: string; json?: boolean };
export type RollbackOptions = {
  backup?: string;
  list?: boolean;
  allowEmpty?: boolean;
  config?: string;
  json?: boolean;
};
export type PruneOptions = {
  keep: number;
  minAge: number;
  dryRun?: boolean;
  config?: string;
  json?: boolean;
};

function syncOptions(opts: SyncFlags): SyncOptions {
  return {
    include: opts.include,
    exclude: opts.exclude,
    concurrency: opts.concurrency,
    ...(opts.cache ? {} : { cacheDir: false }),
  };
}

/**
 * The two storages of `sync` and `diff`. With a config file (-c, $SLUICE_CONFIG or
 * ./sluice.config.yaml) its S3 settings apply, validated first. Without one, S3 settings come
 * from the environment (AWS_ENDPOINT_URL, AWS_REGION, credentials), read by the S3 driver and
 * the SDK exactly as for `sluice storage`: the pipeline's configuration plays no part in a sync,
 * and not loading its validator is a sixth of a no-op sync's CPU.
 */
async function openPair(
  a: string,
  b: string,
  opts: { config?: string },
): Promise<{ src: Storage; dst: Storage }> {
  if (locateConfigFile(opts.config) === undefined) return { src: openStorage(a), dst: openStorage(b) };
  const { S3Synchronizer } = await synchronizerModule();
  const syncer = new S3Synchronizer(await loadConfig(opts));
  return { src: syncer.open(a), dst: syncer.open(b) };
}

export async function sync(src: string, dst: string, opts: SyncCommandFlags): Promise<void> {
  const pair = await openPair(src, dst, opts);
  describeInterruption(
    () => 'files copied so far are whole (each put is atomic); run sync again for the rest',
  );
  const { syncStorages } = await syncModule();
  const progress = createProgressReporter();
  let result: Awaited<ReturnType<typeof syncStorages>>;
  try {
    result = await syncStorages(pair.src, pair.dst, {
      ...syncOptions(opts),
      delete: opts.delete ?? false,
      dryRun: opts.dryRun ?? false,
      ...(opts.maxDelete !== undefined ? { maxDelete: opts.maxDelete } : {}),
      onProgress: (e) => progress.update(e),
      signal: commandSignal(),
    });
  } finally {
    progress.stop();
  }
  if (opts.json) return printJson(result);
  const verb = result.dryRun ? 'would copy' : 'copied';
  for (const k of result.uploaded) process.stdout.write(`${result.dryRun ? '(dry run) ' : ''}copy: ${k}\n`);
  for (const k of result.deleted) process.stdout.write(`${result.dryRun ? '(dry run) ' : ''}delete: ${k}\n`);
  process.stdout.write(
    `${verb} ${result.uploaded.length} files (${formatBytes(result.bytes)}), ${result.dryRun ? 'would delete' : 'deleted'} ${result.deleted.length}, unchanged ${result.unchanged}${result.retries > 0 ? `, ${result.retries} retries after transient faults` : ''}\n`,
  );
}

export async function diff(a: string, b: string, opts: SyncFlags): Promise<void> {
  const pair = await openPair(a, b, opts);
  const { diffStorages } = await syncModule();
  const d = await diffStorages(pair.src, pair.dst, syncOptions(opts));
  if (opts.json)
    return printJson({
      aOnly: d.srcOnly,
      bOnly: d.dstOnly,
      modified: d.modified,
      unchanged: d.unchanged.length,
    });
  for (const k of d.srcOnly) process.stdout.write(`< ${k}\n`);
  for (const k of d.dstOnly) process.stdout.write(`> ${k}\n`);
  for (const k of d.modified) process.stdout.write(`M ${k}\n`);
  process.stdout.write(
    `${d.srcOnly.length} only in a, ${d.dstOnly.length} only in b, ${d.modified.length} modified, ${d.unchanged.length} identical\n`,
  );
}

export async function promote(from: string, to: string, opts: PromoteOptions): Promise<void> {
  const { DataPromoter } = await promoterModule();
  const promoter = new DataPromoter(await loadConfig(opts));
  promoter.validatePromotion(from, to);
  const progress = createProgressReporter();
  let r: Awaited<ReturnType<DataPromoter['promote']>>;
  try {
    r = await promoter.promote(from, to, {
      dryRun: opts.dryRun ?? false,
      onProgress: (e) => progress.update(e),
    });
  } finally {
    progress.stop();
  }
  if (opts.json) return printJson(r);
  for (const k of r.added) process.stdout.write(`+ ${k}\n`);
  for (const k of r.changed) process.stdout.write(`~ ${k}\n`);
  for (const k of r.deleted) process.stdout.write(`- ${k}\n`);
  const counts = `added ${r.added.length}, changed ${r.changed.length}, deleted ${r.deleted.length}, unchanged ${r.unchanged.length}`;
  if (!r.dryRun && r.backupId === undefined && r.version) {
    // Nothing differed: no new version, no backup (a rollback still undoes the last real change).
    process.stdout.write(
      `nothing to promote: ${to} already holds ${from}'s ${r.fileCount} files (version ${r.version})\n`,
    );
    return;
  }
  process.stdout.write(
    `${r.dryRun ? '(dry run) would promote' : 'promoted'} ${from} → ${to}: ${r.fileCount} files, ${formatBytes(r.totalSize)} (${counts})${r.version ? `; version ${r.version}, backup ${r.backupId}` : ''}\n`,
  );
}

export async function rollback(env: string, opts: RollbackOptions): Promise<void> {
  const { DataPromoter } = await promoterModule();
  const promoter = new DataPromoter(await loadConfig(opts));
  if (opts.list) {
    const backups = await promoter.listBackups(env);
    if (opts.json) return printJson(backups);
    for (const id of backups) process.stdout.write(`${id}\n`);
    return;
  }
  const r = await promoter.rollback(env, opts.backup, { allowEmpty: opts.allowEmpty ?? false });
  if (opts.json) return printJson(r);
  process.stdout.write(
    `${r.env} restored to backup ${r.restored}: ${r.files} datasets (the replaced version is backup ${r.backupOfCurrent})\n`,
  );
}

export async function prune(env: string, opts: PruneOptions): Promise<void> {
  const { DataPromoter } = await promoterModule();
  const config = await loadConfig(opts);
  await assertLakeExists(config);
  const r = await new DataPromoter(config).prune(env, {
    keepBackups: opts.keep,
    minAgeMs: opts.minAge * 60_000,
    dryRun: opts.dryRun ?? false,
  });
  if (opts.json) return printJson({ dryRun: opts.dryRun ?? false, ...r });
  process.stdout.write(
    `${opts.dryRun ? '(dry run) would delete' : 'deleted'} ${r.deletedFiles.length} version files (${formatBytes(r.bytes)}) and ${r.deletedBackups.length} backups\n`,
  );
}
