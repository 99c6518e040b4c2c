import type { Command } from 'commander';
import type { Config } from '../../config/config.ts';
import { type Environment, locateConfigFile } from '../../config/names.ts';
import type { DataPromoter } from '../../pipeline/promoter.ts';
import { openStorage } from '../../storage/open.ts';
import type { Storage } from '../../storage/types.ts';
import type { SyncOptions } from '../../sync/sync.ts';
import { formatBytes } from '../../util/sizes.ts';
import { intFlag } from '../flags.ts';
import { printJson } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';

const lazy = {
  config: () => import('../../config/config.ts'),
  promoter: () => import('../../pipeline/promoter.ts'),
  sync: () => import('../../sync/sync.ts'),
  synchronizer: () => import('../../sync/synchronizer.ts'),
};

const collect = (value: string, previous: string[]) => [...previous, value];

/** E011 naming the lake when a local lake root does not exist (read-only commands create nothing). */
export async function assertLakeExists(config: Config): Promise<void> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(config.lakeRoot) && !config.lakeRoot.startsWith('file:')) return;
  const { assertLocalRootExists } = await import('../../storage/local-root.ts');
  const lake = openStorage(config.lakeRoot);
  try {
    await assertLocalRootExists(lake, 'lake (lakeRoot; no pipeline has run here yet?)');
  } finally {
    await lake.close();
  }
}

/** The config file (-c) with an optional --env override; the validator loads only here. */
export async function loadConfig(opts: { config?: string; env?: string }): Promise<Config> {
  const { Config } = await lazy.config();
  const cfg = Config.load(opts.config ? { file: opts.config } : {});
  return opts.env ? cfg.with({ env: opts.env as Environment }) : cfg;
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
  const { S3Synchronizer } = await lazy.synchronizer();
  const syncer = new S3Synchronizer(await loadConfig(opts));
  return { src: syncer.open(a), dst: syncer.open(b) };
}

/** `sluice sync|diff|promote|rollback`: moving data between storages and environments. */
export function registerMoveCommands(program: Command): void {
  const syncFlags = (cmd: Command) =>
    cmd
      .option('--include <glob>', 'only keys matching (repeatable)', collect, [])
      .option('--exclude <glob>', 'skip keys matching (repeatable)', collect, [])
      .option('--concurrency <n>', 'objects at once', intFlag('--concurrency', { min: 1 }), 32)
      .option('--no-cache', 'do not use or update the local sha256 cache')
      .option('-c, --config <file>', 'config file (for S3 endpoint and credentials)')
      .option('--json', 'print JSON');
  const syncOptions = (opts: {
    include: string[];
    exclude: string[];
    concurrency: number;
    cache: boolean;
  }): SyncOptions => ({
    include: opts.include,
    exclude: opts.exclude,
    concurrency: opts.concurrency,
    ...(opts.cache ? {} : { cacheDir: false }),
  });

  syncFlags(program.command('sync'))
    .description('Make <dst> hold what <src> holds (paths or s3:// URLs); changed = size or sha256 differs')
    .argument('<src>', 'source folder or URL')
    .argument('<dst>', 'target folder or URL')
    .option('--delete', 'delete target objects the source does not have')
    .option('--max-delete <n>', 'refuse when more deletions are due', intFlag('--max-delete'))
    .option('--dry-run', 'show what would change, change nothing')
    .action(
      async (
        src: string,
        dst: string,
        opts: Parameters<typeof syncOptions>[0] & {
          delete?: boolean;
          maxDelete?: number;
          dryRun?: boolean;
          json?: boolean;
          config?: string;
        },
      ) => {
        const pair = await openPair(src, dst, opts);
        describeInterruption(
          () => 'files copied so far are whole (each put is atomic); run sync again for the rest',
        );
        const { syncStorages } = await lazy.sync();
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
        for (const k of result.uploaded)
          process.stdout.write(`${result.dryRun ? '(dry run) ' : ''}copy: ${k}\n`);
        for (const k of result.deleted)
          process.stdout.write(`${result.dryRun ? '(dry run) ' : ''}delete: ${k}\n`);
        process.stdout.write(
          `${verb} ${result.uploaded.length} files (${formatBytes(result.bytes)}), ${result.dryRun ? 'would delete' : 'deleted'} ${result.deleted.length}, unchanged ${result.unchanged}${result.retries > 0 ? `, ${result.retries} retries after transient faults` : ''}\n`,
        );
      },
    );

  syncFlags(program.command('diff'))
    .description('Show keys only in <a>, only in <b>, and modified (size or sha256 differs)')
    .argument('<a>', 'folder or URL')
    .argument('<b>', 'folder or URL')
    .action(
      async (
        a: string,
        b: string,
        opts: Parameters<typeof syncOptions>[0] & { json?: boolean; config?: string },
      ) => {
        const pair = await openPair(a, b, opts);
        const { diffStorages } = await lazy.sync();
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
      },
    );

  program
    .command('promote')
    .description('Promote dev → qa or qa → prod: validate, back up, copy, switch atomically')
    .argument('<from>', 'source environment')
    .argument('<to>', 'target environment')
    .option('--dry-run', 'show what would change')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (from: string, to: string, opts: { dryRun?: boolean; config?: string; json?: boolean }) => {
      const { DataPromoter } = await lazy.promoter();
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
    });

  program
    .command('rollback')
    .description("Restore an environment's previous version (latest backup, or --backup ID)")
    .argument('<env>', 'environment')
    .option('--backup <id>', 'backup to restore')
    .option('--list', 'list backups instead')
    .option('--allow-empty', 'allow restoring a backup with no datasets (it empties the environment)')
    .option('-c, --config <file>', 'config file')
    .action(
      async (
        env: string,
        opts: { backup?: string; list?: boolean; allowEmpty?: boolean; config?: string },
      ) => {
        const { DataPromoter } = await lazy.promoter();
        const promoter = new DataPromoter(await loadConfig(opts));
        if (opts.list) {
          for (const id of await promoter.listBackups(env)) process.stdout.write(`${id}\n`);
          return;
        }
        const r = await promoter.rollback(env, opts.backup, { allowEmpty: opts.allowEmpty ?? false });
        process.stdout.write(
          `${r.env} restored to backup ${r.restored}: ${r.files} datasets (the replaced version is backup ${r.backupOfCurrent})\n`,
        );
      },
    );

  program
    .command('prune')
    .description('Delete promoted version files that no kept backup or current version uses')
    .argument('<env>', 'environment')
    .option('--keep <n>', 'backups to keep', intFlag('--keep'), 10)
    .option('--min-age <minutes>', 'keep unreferenced files younger than this', intFlag('--min-age'), 60)
    .option('--dry-run', 'show what would be deleted')
    .option('-c, --config <file>', 'config file')
    .action(
      async (env: string, opts: { keep: number; minAge: number; dryRun?: boolean; config?: string }) => {
        const { DataPromoter } = await lazy.promoter();
        const config = await loadConfig(opts);
        await assertLakeExists(config);
        const r = await new DataPromoter(config).prune(env, {
          keepBackups: opts.keep,
          minAgeMs: opts.minAge * 60_000,
          dryRun: opts.dryRun ?? false,
        });
        process.stdout.write(
          `${opts.dryRun ? '(dry run) would delete' : 'deleted'} ${r.deletedFiles.length} version files (${formatBytes(r.bytes)}) and ${r.deletedBackups.length} backups\n`,
        );
      },
    );
}
