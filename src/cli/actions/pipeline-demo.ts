/**
 * `sluice demo`: runs the demo pipeline, draws its summary as a chart with the writer (Vega-Lite
 * → SVG) and ends with the commands a user would try next, written so that they run as printed
 * from the folder the demo ran in (`npx sluice` when no `sluice` is on PATH, see invoked-as.ts).
 */
import path from 'node:path';
import { SluiceError } from '../../errors.ts';
import type { DemoResult, SummaryPoint } from '../../pipeline/demo.ts';
import { shellWord } from '../../util/shell-word.ts';
import { formatBytes } from '../../util/sizes.ts';
import { invokedAs } from '../invoked-as.ts';
import { lazy } from '../lazy.ts';
import { printJson, printTable } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { printSteps } from './pipeline-steps.ts';

export type DemoOptions = { dir: string; scale: number; json?: boolean };

const demoModule = lazy(() => import('../../pipeline/demo.ts'));

export async function demo(opts: DemoOptions): Promise<void> {
  const progress = createProgressReporter();
  let result: DemoResult;
  try {
    const { runDemo } = await demoModule();
    result = await runDemo({ dir: opts.dir, scale: opts.scale, onProgress: (e) => progress.update(e) });
  } finally {
    progress.stop();
  }
  const chart = result.summary.length > 0 ? await writeSummaryChart(result, result.summary) : undefined;
  if (opts.json) printJson({ ...result, chart: chart ?? null });
  else printDemo(result, chart);
  if (!result.run.success) {
    throw new SluiceError(
      'E099',
      `demo pipeline failed: ${result.run.error?.message ?? 'see the table above'}`,
    );
  }
}

/**
 * `<dir>/visualizations/country_year_summary.svg`: per source, the mean over all countries by year
 * as a line, and the range of the country means as a band around it.
 */
async function writeSummaryChart(result: DemoResult, summary: SummaryPoint[]): Promise<string> {
  const [{ DataWriter }, { sourceInput }, { SUMMARY_MODEL }] = await Promise.all([
    import('../../writer/data-writer.ts'),
    import('../../writer/lineage.ts'),
    demoModule(),
  ]);
  const color = { field: 'source', type: 'nominal', title: 'source' };
  const x = { field: 'year', type: 'ordinal', title: 'year' };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${SUMMARY_MODEL}: mean value per year and source`,
      subtitle: 'line: mean over all countries · band: lowest to highest country mean',
    },
    width: 720,
    height: 400,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    data: { values: summary },
    layer: [
      {
        mark: { type: 'area', opacity: 0.15 },
        encoding: {
          x,
          y: { field: 'min_value', type: 'quantitative', scale: { zero: false }, title: 'mean value' },
          y2: { field: 'max_value' },
          color,
        },
      },
      {
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'mean_value', type: 'quantitative' }, color },
      },
    ],
  };
  const writer = new DataWriter({ taskDir: result.dir, createFolders: false });
  // The chart's lineage names the staging file it draws, so it traces down to the raw CSVs.
  const drawn = result.datasets.find((d) => d.name === SUMMARY_MODEL && d.layer === 'staging');
  try {
    const written = await writer.writeVisualization(spec, SUMMARY_MODEL, {
      format: 'svg',
      ...(drawn && writer.recordsLineage ? { inputs: sourceInput(drawn.url) } : {}),
    });
    return written.location;
  } finally {
    await writer.close();
  }
}

function printDemo(result: DemoResult, chart: string | undefined): void {
  const here = (p: string) => path.relative(process.cwd(), p) || '.';
  const rel = here(result.dir);
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
  process.stdout.write(`\ndone in ${(result.durationMs / 1000).toFixed(1)} s.\n`);
  if (chart) process.stdout.write(`chart: ${here(chart)}\n`);
  if (!result.run.success) return;
  const sluice = invokedAs();
  const next = [
    `cd ${shellWord(rel)}`,
    `${sluice} status`,
    `${sluice} catalog ls --env qa`,
    `${sluice} catalog show country_year_summary --env qa`,
    `${sluice} promote qa prod`,
    // Last: it runs until Ctrl-C (the web dashboard of this project).
    `${sluice} serve --demo`,
  ];
  // Plain commands, no comments: an interactive zsh would pass a pasted `# …` on as arguments.
  process.stdout.write(`\nNext, try:\n${next.map((c) => `  ${c}\n`).join('')}`);
}
