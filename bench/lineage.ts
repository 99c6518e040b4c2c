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

interface Timing {
  ms: number;
  /** CPU time of the process, all threads (DuckDB's too): less sensitive to the machine's load. */
  cpuMs: number;
  objects: number;
}

/** One demo pipeline on a fresh lake: full run, then promote dev → qa. */
async function demoPipeline(lineage: boolean, lake: string): Promise<Timing> {
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
  const cpu = process.cpuUsage();
  const run = await new Pipeline(config).runDetailed('full');
  if (!run.success) throw new Error(`the demo run failed: ${JSON.stringify(run.error)}`);
  await new DataPromoter(config).promote('dev', 'qa');
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const logDir = path.join(lake, '_sluice', 'lineage');
  const objects = lineage
    ? readdirSync(logDir, { recursive: true }).filter((f) => String(f).endsWith('.jsonl')).length
    : 0;
  rmSync(lake, { recursive: true, force: true });
  return { ms, cpuMs: (used.user + used.system) / 1000, objects };
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
  const runs: Record<'on' | 'off', Timing[]> = { on: [], off: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of inRoundOrder(['on', 'off'] as const, round))
      runs[mode].push(await demoPipeline(mode === 'on', path.join(work, `lake-${round}-${mode}`)));
  }
  const of = (mode: 'on' | 'off', key: 'ms' | 'cpuMs') => runs[mode].map((r) => r[key]);
  const ms = (v: number[]) => `${median(v).toFixed(0)} ms`;
  const overhead = (key: 'ms' | 'cpuMs') => {
    const ratio = medianRatio(of('on', key), of('off', key));
    return `${ratio.toFixed(3)} → overhead ${((ratio - 1) * 100).toFixed(1)}%`;
  };
  const objects = runs.on[0]?.objects ?? 0;
  console.log(`lineage off: median ${ms(of('off', 'ms'))} wall, ${ms(of('off', 'cpuMs'))} CPU`);
  console.log(
    `lineage on:  median ${ms(of('on', 'ms'))} wall, ${ms(of('on', 'cpuMs'))} CPU (${objects} log objects per run + promotion)`,
  );
  console.log(`wall ratio on/off (median of per-round ratios): ${overhead('ms')}`);
  console.log(`CPU ratio on/off (median of per-round ratios):  ${overhead('cpuMs')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
