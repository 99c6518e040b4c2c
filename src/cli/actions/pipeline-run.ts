/**
 * `sluice run|status|validate`, `sluice catalog ls|show` and `sluice ingest-csv`: running the
 * pipeline and looking at what it made.
 */

import { ConfigurationError, SluiceError } from '../../errors.ts';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { formatBytes } from '../../util/sizes.ts';
import { lazy } from '../lazy.ts';
import { printJson, printTable } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import { assertLakeExists, loadConfig } from './pipeline-config.ts';
import { printSteps } from './pipeline-steps.ts';

export interface CommonOpts {
  config?: string;
  env?: string;
  json?: boolean;
}

export type RunOptions = CommonOpts & { mode: string };
export type StatusOptions = CommonOpts & { limit: number };
export type IngestCsvOptions = CommonOpts & {
  source: string;
  schema?: string;
  name?: string;
  rejectFile?: string;
};

// Each command loads only what it runs: `sluice status` does not pay for the demo or the catalog.
const catalogModule = lazy(() => import('../../pipeline/catalog.ts'));
const ingesterModule = lazy(() => import('../../pipeline/ingester.ts'));
const pipelineModule = lazy(() => import('../../pipeline/pipeline.ts'));
const schemaModule = lazy(() => import('../../pipeline/schema.ts'));

export async function run(opts: RunOptions): Promise<void> {
  const { Pipeline } = await pipelineModule();
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
}

export async function status(opts: StatusOptions): Promise<void> {
  const { Pipeline } = await pipelineModule();
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
}

export async function catalogLs(opts: CommonOpts): Promise<void> {
  const { DataCatalog } = await catalogModule();
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
}

export async function catalogShow(name: string, opts: CommonOpts): Promise<void> {
  const { DataCatalog } = await catalogModule();
  const info = await new DataCatalog(await loadConfig(opts)).getModelMetadata(name, opts.env);
  if (opts.json) return printJson(info);
  process.stdout.write(
    `${info.path}\n  url: ${info.url}\n  description: ${info.description}\n  rows: ${info.rows ?? '?'}\n  size: ${formatBytes(info.bytes)}\n  sha256: ${info.sha256 ?? ''}\n  updated: ${info.lastUpdated ?? ''}\n  depends on: ${info.dependsOn.join(', ')}\n  columns:\n`,
  );
  for (const c of info.columns) process.stdout.write(`    ${c.name}  ${c.type}\n`);
}

export async function ingestCsv(file: string, opts: IngestCsvOptions): Promise<void> {
  const { DataIngester } = await ingesterModule();
  const { loadSchemaFile } = await schemaModule();
  const ingester = new DataIngester(await loadConfig(opts));
  describeInterruption(
    () => 'a file lands in the lake only whole (nothing half-written), temp files removed',
  );
  const progress = createProgressReporter();
  try {
    const schema = opts.schema ? loadSchemaFile(opts.schema) : undefined;
    const r = await ingester.ingestCsv(file, opts.source, schema, {
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.rejectFile ? { rejectFile: opts.rejectFile } : {}),
      signal: commandSignal(),
      onProgress: (e) => progress.update(e),
    });
    progress.stop();
    if (opts.json) return printJson(r);
    process.stdout.write(
      `${r.key}: ${r.rows} rows, ${formatBytes(r.bytes)}, sha256 ${r.sha256.slice(0, 12)}…${r.rejected ? `, ${r.rejected} rejected rows in ${opts.rejectFile}` : ''}\n`,
    );
  } finally {
    progress.stop();
    await ingester.close();
  }
}

export async function validate(opts: CommonOpts): Promise<void> {
  const { Pipeline } = await pipelineModule();
  const problems = await new Pipeline(await loadConfig(opts)).environmentProblems();
  if (opts.json) printJson({ ok: problems.length === 0, problems });
  if (problems.length > 0) {
    if (!opts.json) for (const p of problems) process.stdout.write(`✗ ${p}\n`);
    throw new ConfigurationError(`${problems.length} problem(s) found`, { context: { problems } });
  }
  if (!opts.json) process.stdout.write('pipeline environment OK\n');
}
