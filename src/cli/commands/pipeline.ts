import path from 'node:path';
import { type Command, Option } from 'commander';
import { ENVIRONMENTS } from '../../config/names.ts';
import { ConfigurationError, SluiceError } from '../../errors.ts';
import type { runDemo } from '../../pipeline/demo.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { formatBytes } from '../../util/sizes.ts';
import { intFlag, numberFlag } from '../flags.ts';
import { printJson, printTable } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import { assertLakeExists, loadConfig, registerMoveCommands } from './pipeline-move.ts';

interface CommonOpts {
  config?: string;
  env?: string;
  json?: boolean;
}

// Modules load on first use, so `sluice sync` never pays for DuckDB, models or the demo.
const PIPELINE_MODES = ['full', 'ingest', 'transform', 'upload'] as const;
const lazy = {
  catalog: () => import('../../pipeline/catalog.ts'),
  demo: () => import('../../pipeline/demo.ts'),
  ingester: () => import('../../pipeline/ingester.ts'),
  pipeline: () => import('../../pipeline/pipeline.ts'),
  schema: () => import('../../pipeline/schema.ts'),
};

function common(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.config.yaml)')
    .addOption(new Option('--env <env>', 'environment (overrides the config)').choices(ENVIRONMENTS))
    .option('--json', 'print JSON');
}

/** `sluice demo|run|status|catalog|ingest-csv|sync|diff|promote|rollback|validate`. */
export function registerPipelineCommands(program: Command): void {
  program
    .command('demo')
    .description('Create ./sluice-demo with sample data and models, run the pipeline and promote dev → qa')
    .option('--dir <dir>', 'project folder', 'sluice-demo')
    .option(
      '--scale <n>',
      'data size multiplier (1 ≈ 300,000 rows)',
      numberFlag('--scale', { above: 0, max: 100 }),
      1,
    )
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; scale: number; json?: boolean }) => {
      const scale = opts.scale;
      const progress = createProgressReporter();
      let result: Awaited<ReturnType<typeof runDemo>>;
      try {
        const { runDemo } = await lazy.demo();
        result = await runDemo({ dir: opts.dir, scale, onProgress: (e) => progress.update(e) });
      } finally {
        progress.stop();
      }
      if (opts.json) return printJson(result);
      const rel = path.relative(process.cwd(), result.dir) || '.';
      process.stdout.write(`\nsluice demo — project in ${rel}/\n\n`);
      printSteps(result.run.steps);
      if (result.promotion) {
        const p = result.promotion;
        process.stdout.write(
          `\npromoted dev → qa: ${p.fileCount} files, ${formatBytes(p.totalSize)} (added ${p.added.length}, changed ${p.changed.length}, unchanged ${p.unchanged.length}, deleted ${p.deleted.length}); version ${p.version}\n\n`,
        );
      }
      printTable(
        result.datasets.map((d) => ({
          dataset: d.path,
          rows: d.rows ?? '',
          size: formatBytes(d.bytes),
          columns: d.columns.map((c) => `${c.name}:${c.type}`).join(' '),
        })),
      );
      process.stdout.write(
        `\ndone in ${(result.durationMs / 1000).toFixed(1)} s. Next: cd ${rel} && sluice status && sluice catalog ls --env qa\n`,
      );
      if (!result.run.success) {
        throw new SluiceError(
          'E099',
          `demo pipeline failed: ${result.run.error?.message ?? 'see the table above'}`,
        );
      }
    });

  common(program.command('run'))
    .description('Run the pipeline: ingest raw CSVs, run SQL models, upload')
    .addOption(new Option('--mode <mode>', 'what to run').choices(PIPELINE_MODES).default('full'))
    .action(async (opts: CommonOpts & { mode: string }) => {
      const { Pipeline } = await lazy.pipeline();
      const pipeline = new Pipeline(await loadConfig(opts));
      const progress = createProgressReporter();
      let record: Awaited<ReturnType<Pipeline['runDetailed']>>;
      try {
        record = await pipeline.runDetailed(opts.mode, { onProgress: (e) => progress.update(e) });
      } finally {
        progress.stop();
      }
      if (opts.json) printJson(record);
      else printSteps(record.steps);
      if (!record.success) {
        const code = (record.error?.code ?? 'E099') as SluiceError['code'];
        throw new SluiceError(
          code,
          `pipeline run ${record.id} failed: ${record.error?.message ?? 'see the table above'}`,
        );
      }
    });

  common(program.command('status'))
    .description('Show the last pipeline runs with per-step duration, rows, bytes and errors')
    .option('--limit <n>', 'runs to show', intFlag('--limit'), 10)
    .action(async (opts: CommonOpts & { limit: number }) => {
      const { Pipeline } = await lazy.pipeline();
      const config = await loadConfig(opts);
      await assertLakeExists(config);
      const status = await new Pipeline(config).getStatus(opts.limit);
      if (opts.json) return printJson(status);
      if (status.runs.length === 0) {
        process.stdout.write(`no pipeline runs yet in ${status.env} (${status.lakeRoot})\n`);
        return;
      }
      printTable(
        status.runs.map((r) => ({
          run: r.id,
          mode: r.mode,
          ok: r.success ? 'yes' : 'NO',
          started: r.startedAt,
          seconds: (r.durationMs / 1000).toFixed(2),
          steps: r.steps.map((s) => `${s.step}:${s.status}(${s.rows} rows)`).join(' '),
          error: r.error ? `${r.error.code}: ${r.error.message}`.slice(0, 100) : '',
        })),
      );
    });

  const catalog = program.command('catalog').description('Datasets in the lake');
  common(catalog.command('ls'))
    .description('List landing datasets and staging models of an environment')
    .action(async (opts: CommonOpts) => {
      const { DataCatalog } = await lazy.catalog();
      const config = await loadConfig(opts);
      await assertLakeExists(config);
      const datasets = await new DataCatalog(config).listDatasets(opts.env);
      if (opts.json) return printJson(datasets);
      printTable(
        datasets.map((d) => ({
          dataset: d.path,
          rows: d.rows ?? '',
          size: formatBytes(d.bytes),
          updated: d.lastUpdated ?? '',
          description: d.description,
        })),
      );
    });
  common(catalog.command('show'))
    .description('Columns, description, rows and last update of a model or dataset')
    .argument('<name>', 'model name, staging.<model> or <source>/<name>')
    .action(async (name: string, opts: CommonOpts) => {
      const { DataCatalog } = await lazy.catalog();
      const info = await new DataCatalog(await loadConfig(opts)).getModelMetadata(name, opts.env);
      if (opts.json) return printJson(info);
      process.stdout.write(
        `${info.path}\n  url: ${info.url}\n  description: ${info.description}\n  rows: ${info.rows ?? '?'}\n  size: ${formatBytes(info.bytes)}\n  sha256: ${info.sha256 ?? ''}\n  updated: ${info.lastUpdated ?? ''}\n  depends on: ${info.dependsOn.join(', ')}\n  columns:\n`,
      );
      for (const c of info.columns) process.stdout.write(`    ${c.name}  ${c.type}\n`);
    });

  common(program.command('ingest-csv'))
    .description('Convert one CSV file to Parquet in <env>/landing/<source>/ with schema validation')
    .argument('<file>', 'CSV file')
    .requiredOption('--source <source>', 'source name (folder in landing/)')
    .option('--schema <file>', 'schema YAML/JSON: column → String|Int|Decimal|Float64|Date|Boolean|Timestamp')
    .option('--name <name>', 'dataset name (default: the file name without .csv)')
    .option('--reject-file <file>', 'write bad rows here (CSV) and load the rest instead of failing')
    .action(
      async (
        file: string,
        opts: CommonOpts & { source: string; schema?: string; name?: string; rejectFile?: string },
      ) => {
        const { DataIngester } = await lazy.ingester();
        const { loadSchemaFile } = await lazy.schema();
        const ingester = new DataIngester(await loadConfig(opts));
        describeInterruption(
          () => 'a file lands in the lake only whole (nothing half-written), temp files removed',
        );
        try {
          const schema = opts.schema ? loadSchemaFile(opts.schema) : undefined;
          const r = await ingester.ingestCsv(file, opts.source, schema, {
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.rejectFile ? { rejectFile: opts.rejectFile } : {}),
            signal: commandSignal(),
          });
          if (opts.json) return printJson(r);
          process.stdout.write(
            `${r.key}: ${r.rows} rows, ${formatBytes(r.bytes)}, sha256 ${r.sha256.slice(0, 12)}…${r.rejected ? `, ${r.rejected} rejected rows in ${opts.rejectFile}` : ''}\n`,
          );
        } finally {
          await ingester.close();
        }
      },
    );

  registerMoveCommands(program);

  common(program.command('validate'))
    .description('Check configuration, folders, models and lake access; report every problem')
    .action(async (opts: CommonOpts) => {
      const { Pipeline } = await lazy.pipeline();
      const problems = await new Pipeline(await loadConfig(opts)).environmentProblems();
      if (opts.json) printJson({ ok: problems.length === 0, problems });
      if (problems.length > 0) {
        if (!opts.json) for (const p of problems) process.stdout.write(`✗ ${p}\n`);
        throw new ConfigurationError(`${problems.length} problem(s) found`, { context: { problems } });
      }
      if (!opts.json) process.stdout.write('pipeline environment OK\n');
    });
}

function printSteps(
  steps: {
    step: string;
    status: string;
    files: number;
    rows: number;
    bytes: number;
    durationMs: number;
    errors: string[];
    note?: string;
  }[],
): void {
  printTable(
    steps.map((s) => ({
      step: s.step,
      status: s.status,
      files: s.files,
      rows: s.rows,
      size: formatBytes(s.bytes),
      seconds: (s.durationMs / 1000).toFixed(2),
      note: s.note ?? s.errors[0] ?? '',
    })),
  );
}
