/**
 * `sluice demo` draws its summary model as a chart with the writer (Vega-Lite → SVG), prints the
 * chart's path relative to where it ran, and puts the path in --json output too.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPng, pngSize, svgToPng } from '../../src/charts/index.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('the demo’s chart', () => {
  it('is an SVG of the summary model, at the path the demo prints', async () => {
    const work = tempDir('demo-chart');
    const res = await runSluice(['demo', '--dir', 'proj'], { cwd: work });
    expect(res.code, res.stderr).toBe(0);
    const printed = /^chart: (.+)$/m.exec(res.stdout)?.[1];
    expect(printed).toBe(path.join('proj', 'visualizations', 'country_year_summary.svg'));
    const file = path.join(work, printed as string);
    // The writer's task folders are not made in the project: only the chart's own folder (and
    // `_sluice/`, the chart's lineage log).
    expect(readdirSync(path.join(work, 'proj')).sort()).toEqual([
      '_sluice',
      'data',
      'lake',
      'models',
      'sluice.config.yaml',
      'visualizations',
    ]);
    // Its lineage reaches the staging file it draws, and through the lake's log the raw CSVs.
    const tree = await runSluice(['lineage', printed as string, '--json'], { cwd: work });
    expect(tree.code, tree.stderr).toBe(0);
    const chain = JSON.stringify(JSON.parse(tree.stdout));
    expect(JSON.parse(tree.stdout)).toMatchObject({ operation: 'writer.writeVisualization' });
    expect(chain).toContain('/staging/country_year_summary.parquet');
    expect(chain).toMatch(/raw\/[^"]+\.csv/);
    const svg = readFileSync(file, 'utf8');
    expect(svg).toMatch(/^<svg [^>]*width="720" height="400"/);
    for (const text of ['country_year_summary', 'opri', 'sdg', 'wdi', '2000', '2023']) {
      expect(svg, text).toContain(`>${text}`);
    }
    // Three sources: a band and a line each.
    expect(svg.match(/class="mark-area role-mark/g)?.length).toBe(3);
    expect(svg.match(/class="mark-line role-mark/g)?.length).toBe(3);
    // Well-formed enough for a real renderer: resvg rasterises it at its size.
    const png = await svgToPng(svg);
    expect(isPng(png)).toBe(true);
    expect(pngSize(png)).toEqual({ width: 720, height: 400 });
  }, 120_000);

  it('is named in --json output by its full path, and a second demo replaces it', async () => {
    const work = tempDir('demo-chart-json');
    const first = await runSluice(['demo', '--json'], { cwd: work });
    expect(first.code, first.stderr).toBe(0);
    const chart = (JSON.parse(first.stdout) as { chart: string }).chart;
    expect(chart).toBe(path.join(work, 'sluice-demo', 'visualizations', 'country_year_summary.svg'));
    expect(existsSync(chart)).toBe(true);
    const again = await runSluice(['demo', '--json'], { cwd: work });
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(path.dirname(chart))).toEqual(['country_year_summary.svg']);
  }, 120_000);
});
