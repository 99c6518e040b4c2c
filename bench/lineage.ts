// Lineage overhead on the pipeline demo (#19, goal ≤ 5%): the demo's pipeline — ingest → transform
// → run record → promote dev → qa, on local disk — with lineage on (the default: every file's
// intent before it is written, its commit after, each step's batch fsynced) and with
// `lineage: false`, in one run. Each round runs both on a fresh lake from the same project, in
// alternating order; the statistic is the medians of the rounds and the median of the per-round
// ratios (on / off). Absolute times depend on the load of the machine: read the ratio.
// Usage: node bench/lineage.ts [--rounds N] [--scale S]   (default 7 rounds, scale 1 ≈ 300,000 rows)
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Config } from '../src/config/config.ts';
import { writeDemoProject } from '../src/pipeline/demo.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { DataPromoter } from '../src/pipeline/promoter.ts';
import { benchRounds, inRoundOrder, median, medianRatio } from './peers.ts';

const flag = process.argv.indexOf('--scale');
const scale = flag > 0 ? Number(process.argv[flag + 1]) : 1;
if (!(scale > 0)) throw new Error('--scale needs a positive number, e.g. --scale 0.5');
const ROUNDS = benchRounds(7);
const work = mkdtempSync(path.join(tmpdir(), 'sluice-bench-lineage-'));

/** One demo pipeline on a fresh lake: full run, then promote dev → qa. Milliseconds and log objects. */
async function demoPipeline(lineage: boolean, lake: string): Promise<{ ms: number; objects: number }> {
  const config = Config.load({
    env: {},
    overrides: {
      env: 'dev',
      dataDir: path.join(work, 'project', 'data'),
      modelsDir: path.join(work, 'project', 'models'),
      lakeRoot: lake,
      lineage,
    },
  });
  const t = performance.now();
  const run = await new Pipeline(config).runDetailed('full');
  if (!run.success) throw new Error(`the demo run failed: ${JSON.stringify(run.error)}`);
  await new DataPromoter(config).promote('dev', 'qa');
  const ms = performance.now() - t;
  const logDir = path.join(lake, '_sluice', 'lineage');
  const objects = lineage
    ? readdirSync(logDir, { recursive: true }).filter((f) => String(f).endsWith('.jsonl')).length
    : 0;
  rmSync(lake, { recursive: true, force: true });
  return { ms, objects };
}

try {
  const raw = await writeDemoProject(path.join(work, 'project'), scale);
  const rows = raw.reduce((s, f) => s + f.rows, 0);
  console.log(
    `demo project: ${raw.length} CSVs, ${rows.toLocaleString('en')} rows (scale ${scale}); ${ROUNDS} rounds`,
  );
  // One untimed pass of each: DuckDB's first load and the page cache are not lineage's cost.
  await demoPipeline(true, path.join(work, 'warm-on'));
  await demoPipeline(false, path.join(work, 'warm-off'));
  const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
  let objects = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of inRoundOrder(['on', 'off'] as const, round)) {
      const r = await demoPipeline(mode === 'on', path.join(work, `lake-${round}-${mode}`));
      times[mode].push(r.ms);
      if (mode === 'on') objects = r.objects;
    }
  }
  const ratio = medianRatio(times.on, times.off);
  console.log(`lineage off: median ${median(times.off).toFixed(0)} ms`);
  console.log(
    `lineage on:  median ${median(times.on).toFixed(0)} ms (${objects} log objects per run + promotion)`,
  );
  console.log(
    `ratio on/off (median of per-round ratios): ${ratio.toFixed(3)} → overhead ${((ratio - 1) * 100).toFixed(1)}%`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
