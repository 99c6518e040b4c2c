/**
 * The pipeline's commands: `sluice demo|run|status|validate`, `sluice catalog ls|show`,
 * `sluice ingest-csv`, and moving data with `sluice sync|diff|promote|rollback|prune`.
 */
import { type Command, Option } from 'commander';
import { ENVIRONMENTS } from '../../config/names.ts';
import type { DemoOptions } from '../actions/pipeline-demo.ts';
import type {
  PromoteOptions,
  PruneOptions,
  RollbackOptions,
  SyncCommandFlags,
  SyncFlags,
} from '../actions/pipeline-move.ts';
import type { CommonOpts, IngestCsvOptions, RunOptions, StatusOptions } from '../actions/pipeline-run.ts';
import { intFlag, numberFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';

// Actions load on first use, so `sluice sync` never pays for DuckDB, models or the demo.
const running = lazy(() => import('../actions/pipeline-run.ts'));
const demoing = lazy(() => import('../actions/pipeline-demo.ts'));
const moving = lazy(() => import('../actions/pipeline-move.ts'));

const PIPELINE_MODES = ['full', 'ingest', 'transform', 'upload'] as const;
const collect = (value: string, previous: string[]) => [...previous, value];

function common(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.config.yaml)')
    .addOption(new Option('--env <env>', 'environment (overrides the config)').choices(ENVIRONMENTS))
    .option('--json', 'print JSON');
}

/** `sluice demo|run|status|catalog|ingest-csv|sync|diff|promote|rollback|prune|validate`. */
export function registerPipelineCommands(program: Command): void {
  program
    .command('demo')
    .description(
      'Create ./sluice-demo with sample data and models, run the pipeline, promote dev → qa and chart the summary',
    )
    .option('--dir <dir>', 'project folder', 'sluice-demo')
    .option(
      '--scale <n>',
      'data size multiplier (1 ≈ 300,000 rows)',
      numberFlag('--scale', { above: 0, max: 100 }),
      1,
    )
    .option('--json', 'print JSON')
    .action(async (opts: DemoOptions) => (await demoing()).demo(opts));

  common(program.command('run'))
    .description('Run the pipeline: ingest raw CSVs, run SQL models, upload')
    .addOption(new Option('--mode <mode>', 'what to run').choices(PIPELINE_MODES).default('full'))
    .action(async (opts: RunOptions) => (await running()).run(opts));

  common(program.command('status'))
    .description('Show the last pipeline runs with per-step duration, rows, bytes and errors')
    .option('--limit <n>', 'runs to show', intFlag('--limit'), 10)
    .action(async (opts: StatusOptions) => (await running()).status(opts));

  const catalog = program.command('catalog').description('Datasets in the lake');
  common(catalog.command('ls'))
    .description('List landing datasets and staging models of an environment')
    .action(async (opts: CommonOpts) => (await running()).catalogLs(opts));
  common(catalog.command('show'))
    .description('Columns, description, rows and last update of a model or dataset')
    .argument('<name>', 'model name, staging.<model> or <source>/<name>')
    .action(async (name: string, opts: CommonOpts) => (await running()).catalogShow(name, opts));

  common(program.command('ingest-csv'))
    .description('Convert one CSV file to Parquet in <env>/landing/<source>/ with schema validation')
    .argument('<file>', 'CSV file')
    .requiredOption('--source <source>', 'source name (folder in landing/)')
    .option('--schema <file>', 'schema YAML/JSON: column → String|Int|Decimal|Float64|Date|Boolean|Timestamp')
    .option('--name <name>', 'dataset name (default: the file name without .csv)')
    .option('--reject-file <file>', 'write bad rows here (CSV) and load the rest instead of failing')
    .action(async (file: string, opts: IngestCsvOptions) => (await running()).ingestCsv(file, opts));

  registerMoveCommands(program);

  common(program.command('validate'))
    .description('Check configuration, folders, models and lake access; report every problem')
    .action(async (opts: CommonOpts) => (await running()).validate(opts));
}

/** `sluice sync|diff|promote|rollback|prune`: moving data between storages and environments. */
function registerMoveCommands(program: Command): void {
  const syncFlags = (cmd: Command) =>
    cmd
      .option('--include <glob>', 'only keys matching (repeatable)', collect, [])
      .option('--exclude <glob>', 'skip keys matching (repeatable)', collect, [])
      .option('--concurrency <n>', 'objects at once', intFlag('--concurrency', { min: 1 }), 32)
      .option('--no-cache', 'do not use or update the local sha256 cache')
      .option('-c, --config <file>', 'config file (for S3 endpoint and credentials)')
      .option('--json', 'print JSON');
  syncFlags(program.command('sync'))
    .description('Make <dst> hold what <src> holds (paths or s3:// URLs); changed = size or sha256 differs')
    .argument('<src>', 'source folder or URL')
    .argument('<dst>', 'target folder or URL')
    .option('--delete', 'delete target objects the source does not have')
    .option('--max-delete <n>', 'refuse when more deletions are due', intFlag('--max-delete'))
    .option('--dry-run', 'show what would change, change nothing')
    .action(async (src: string, dst: string, opts: SyncCommandFlags) =>
      (await moving()).sync(src, dst, opts),
    );

  syncFlags(program.command('diff'))
    .description('Show keys only in <a>, only in <b>, and modified (size or sha256 differs)')
    .argument('<a>', 'folder or URL')
    .argument('<b>', 'folder or URL')
    .action(async (a: string, b: string, opts: SyncFlags) => (await moving()).diff(a, b, opts));

  program
    .command('promote')
    .description('Promote dev → qa or qa → prod: validate, back up, copy, switch atomically')
    .argument('<from>', 'source environment')
    .argument('<to>', 'target environment')
    .option('--dry-run', 'show what would change')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (from: string, to: string, opts: PromoteOptions) =>
      (await moving()).promote(from, to, opts),
    );

  program
    .command('rollback')
    .description("Restore an environment's previous version (latest backup, or --backup ID)")
    .argument('<env>', 'environment')
    .option('--backup <id>', 'backup to restore')
    .option('--list', 'list backups instead')
    .option('--allow-empty', 'allow restoring a backup with no datasets (it empties the environment)')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (env: string, opts: RollbackOptions) => (await moving()).rollback(env, opts));

  program
    .command('prune')
    .description('Delete promoted version files that no kept backup or current version uses')
    .argument('<env>', 'environment')
    .option('--keep <n>', 'backups to keep', intFlag('--keep'), 10)
    .option('--min-age <minutes>', 'keep unreferenced files younger than this', intFlag('--min-age'), 60)
    .option('--dry-run', 'show what would be deleted')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (env: string, opts: PruneOptions) => (await moving()).prune(env, opts));
}
