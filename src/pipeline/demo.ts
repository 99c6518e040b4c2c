/**
 * `sluice demo`: a self-contained project (raw CSVs like SDG/WDI/OPRI extracts, SQL models and a
 * config) generated deterministically by DuckDB, then the whole pipeline on local storage:
 * ingest → transform → promote dev → qa.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '../config/config.ts';
import { Engine, quoteLiteral } from '../engine/duckdb.ts';
import type { ProgressFn } from '../util/progress.ts';
import { DataCatalog, type DatasetInfo } from './catalog.ts';
import { Pipeline } from './pipeline.ts';
import { DataPromoter, type PromotionResult } from './promoter.ts';
import type { RunRecord } from './run-history.ts';

export interface DemoOptions {
  /** Project folder, created if missing. @default ./sluice-demo */
  dir?: string;
  /** Multiplies the number of indicators (1 ≈ 300,000 rows in all). @default 1 */
  scale?: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface DemoResult {
  dir: string;
  rawFiles: { file: string; rows: number }[];
  run: RunRecord;
  promotion: PromotionResult | null;
  datasets: DatasetInfo[];
  /** The summary model per year and source (what the demo's chart draws); empty if the run failed. */
  summary: SummaryPoint[];
  durationMs: number;
}

/** One point of the demo's chart: a source's country means in a year — their mean and range. */
export interface SummaryPoint {
  year: number;
  source: string;
  mean_value: number;
  min_value: number;
  max_value: number;
}

/** The final model of the demo, which its chart summarises. */
export const SUMMARY_MODEL = 'country_year_summary';

/** 54 African countries (ISO 3166-1 alpha-3), as in OSAA's data. */
const COUNTRIES =
  'DZA AGO BEN BWA BFA BDI CPV CMR CAF TCD COM COG COD CIV DJI EGY GNQ ERI SWZ ETH GAB GMB GHA GIN GNB KEN LSO LBR LBY MDG MWI MLI MRT MUS MAR MOZ NAM NER NGA RWA STP SEN SYC SLE SOM ZAF SSD SDN TZA TGO TUN UGA ZMB ZWE'.split(
    ' ',
  );

/** Sources: name, indicator prefix, indicators, salt (so sources differ). */
const SOURCES = [
  { source: 'sdg', file: 'SDG_DATA.csv', prefix: 'SDG', indicators: 120, salt: 1 },
  { source: 'wdi', file: 'WDI_DATA.csv', prefix: 'WDI', indicators: 80, salt: 2 },
  { source: 'opri', file: 'OPRI_DATA.csv', prefix: 'OPRI', indicators: 30, salt: 3 },
] as const;
const YEARS = { from: 2000, to: 2023 };

export function examplesDir(): string {
  return fileURLToPath(new URL('../../examples/demo/', import.meta.url));
}

/** Writes the project files; same options, same bytes. */
export async function writeDemoProject(dir: string, scale = 1): Promise<{ file: string; rows: number }[]> {
  const examples = examplesDir();
  await fsp.mkdir(path.join(dir, 'models'), { recursive: true });
  for (const f of await fsp.readdir(path.join(examples, 'models'))) {
    await fsp.copyFile(path.join(examples, 'models', f), path.join(dir, 'models', f));
  }
  await fsp.copyFile(path.join(examples, 'sluice.config.yaml'), path.join(dir, 'sluice.config.yaml'));
  const engine = await Engine.create({ threads: 2 });
  const out: { file: string; rows: number }[] = [];
  try {
    for (const s of SOURCES) {
      const folder = path.join(dir, 'data', 'raw', s.source);
      await fsp.mkdir(folder, { recursive: true });
      await fsp.copyFile(path.join(examples, 'schema.yaml'), path.join(folder, 'schema.yaml'));
      const file = path.join(folder, s.file);
      const indicators = Math.max(1, Math.round(s.indicators * scale));
      const countries = `[${COUNTRIES.map(quoteLiteral).join(', ')}]`;
      // A fixed arithmetic hash keeps values identical across runs and DuckDB versions.
      const h = `((i * 7919 + c * 104729 + y * 1299709 + ${s.salt} * 15485863) % 1000003)`;
      const sql = `COPY (
        SELECT '${s.prefix}_' || lpad(i::VARCHAR, 3, '0') AS indicator_id,
               list_element(${countries}, (c + 1)::INT) AS country_id,
               y AS year,
               CASE WHEN ${h} % 53 = 0 THEN NULL ELSE round((${h} % 100000) / 100.0, 2) END AS value
        FROM range(${indicators}) t1(i), range(${COUNTRIES.length}) t2(c), range(${YEARS.from}, ${YEARS.to + 1}) t3(y)
        ORDER BY indicator_id, country_id, year
      ) TO ${quoteLiteral(`${file}.tmp`)} (FORMAT csv, HEADER true)`;
      const [res] = await engine.query<{ Count: bigint }>(sql);
      await fsp.rename(`${file}.tmp`, file);
      out.push({ file, rows: Number(res?.Count ?? 0) });
    }
  } finally {
    await engine.close();
  }
  return out;
}

/** Generates the project and runs ingest → transform → promote dev → qa on local storage. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = performance.now();
  const dir = path.resolve(options.dir ?? 'sluice-demo');
  options.onProgress?.({ operation: 'generate', done: 0, total: SOURCES.length, unit: 'files' });
  const rawFiles = await writeDemoProject(dir, options.scale ?? 1);
  options.onProgress?.({ operation: 'generate', done: SOURCES.length, total: SOURCES.length, unit: 'files' });
  const config = Config.load({
    file: path.join(dir, 'sluice.config.yaml'),
    // Only the user's name and the lineage settings come from the environment: the demo is the
    // same anywhere, and its lineage can be turned off or sent to an OpenLineage collector.
    env: {
      USER: process.env.USER ?? 'demo',
      ...pick(process.env, [
        'SLUICE_LINEAGE',
        'SLUICE_OPENLINEAGE_URL',
        'SLUICE_OPENLINEAGE_API_KEY',
        'SLUICE_OPENLINEAGE_FILE',
      ]),
    },
    overrides: {
      env: 'dev',
      dataDir: path.join(dir, 'data'),
      modelsDir: path.join(dir, 'models'),
      lakeRoot: path.join(dir, 'lake'),
    },
  });
  const pipeline = new Pipeline(config);
  const run = await pipeline.runDetailed('full', {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let promotion: PromotionResult | null = null;
  if (run.success) {
    promotion = await new DataPromoter(config).promote('dev', 'qa', {
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  const datasets = await new DataCatalog(config).listDatasets(promotion ? 'qa' : 'dev');
  const summaryFile = datasets.find((d) => d.name === SUMMARY_MODEL && d.layer === 'staging');
  const summary = run.success && summaryFile ? await summaryByYear(fileURLToPath(summaryFile.url)) : [];
  return { dir, rawFiles, run, promotion, datasets, summary, durationMs: performance.now() - started };
}

/** Per year and source, the mean and range of the countries' mean values (the summary model). */
async function summaryByYear(parquetFile: string): Promise<SummaryPoint[]> {
  const engine = await Engine.create({ threads: 1 });
  try {
    const rows = await engine.query<
      Record<'mean_value' | 'min_value' | 'max_value', number> & { year: bigint; source: string }
    >(
      `SELECT year, source, round(avg(mean_value), 2) AS mean_value,
              round(min(mean_value), 2) AS min_value, round(max(mean_value), 2) AS max_value
       FROM read_parquet(${quoteLiteral(parquetFile)}) GROUP BY year, source ORDER BY year, source`,
    );
    return rows.map((r) => ({
      year: Number(r.year),
      source: r.source,
      mean_value: Number(r.mean_value),
      min_value: Number(r.min_value),
      max_value: Number(r.max_value),
    }));
  } finally {
    await engine.close();
  }
}

/** The variables of `names` that are set. */
function pick(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
