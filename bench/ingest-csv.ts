// CSV → Parquet (zstd) benchmark, in one run: sluice's DataIngester.ingestCsv (explicit schema,
// header check, strict typed read, sha256, atomic publish to a local lake, load record) versus a raw
// DuckDB `COPY (SELECT * FROM read_csv(…)) TO … (FORMAT parquet, COMPRESSION zstd)` of the same file.
// Statistic: medians of N alternating rounds (default 5; `--rounds N` or BENCH_ROUNDS) and the
// median of the per-round ratios.
// Usage: node bench/ingest-csv.ts [--quick] [--rounds N] [--progress]   (default ≈ 400 MB of CSV,
// 7.5 M rows; --quick ≈ 80 MB, 1.5 M rows; the bench prints the size; --progress: each round also
// converts with a progress listener, as the CLI does, and the cost of that is printed as a ratio)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Config } from '../src/config/config.ts';
import { Engine, quoteLiteral } from '../src/engine/duckdb.ts';
import { DataIngester } from '../src/pipeline/ingester.ts';
import { benchRounds, median, medianRatio } from './peers.ts';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const withProgress = process.argv.includes('--progress');
let progressEvents = 0;
const ROWS = quick ? 1_500_000 : 7_500_000;
const work = mkdtempSync(path.join(tmpdir(), 'sluice-bench-ingest-'));
const engine = await Engine.create();
try {
  const csv = path.join(work, 'data.csv');
  await engine.run(`COPY (
      SELECT 'IND_' || lpad((i % 997)::VARCHAR, 4, '0') AS indicator_id,
             'C' || lpad((i % 211)::VARCHAR, 3, '0') AS country_id,
             1960 + (i % 64) AS year,
             round(((i * 7919) % 1000003) / 97.0, 4) AS value,
             DATE '2000-01-01' + (i % 9000)::INT AS observed,
             (i % 3 = 0) AS estimated,
             'note ' || (i % 50) AS note
      FROM range(${ROWS}) t(i)) TO ${quoteLiteral(csv)} (FORMAT csv, HEADER true)`);
  const mb = statSync(csv).size / 1e6;
  console.log(`CSV: ${ROWS.toLocaleString('en')} rows, ${mb.toFixed(0)} MB`);

  const config = Config.load({ env: {}, overrides: { lakeRoot: path.join(work, 'lake'), dataDir: work } });
  const ingester = new DataIngester(config);
  const schema = {
    indicator_id: 'String',
    country_id: 'String',
    year: 'Int',
    value: 'Decimal(18,4)',
    observed: 'Date',
    estimated: 'Boolean',
    note: 'String',
  };
  // Alternating rounds (raw, sluice, raw, sluice, …): the machine is shared, so the medians of
  // the rounds and the median of the per-round ratios are reported, never the best run.
  const ROUNDS = benchRounds(5);
  const raws: number[] = [];
  const sluices: number[] = [];
  const progressed: number[] = [];
  let parquetBytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const rawOut = path.join(work, `raw-${round}.parquet`);
    let t = performance.now();
    await engine.run(
      `COPY (SELECT * FROM read_csv(${quoteLiteral(csv)})) TO ${quoteLiteral(rawOut)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    raws.push((performance.now() - t) / 1000);
    rmSync(rawOut, { force: true });
    t = performance.now();
    const r = await ingester.ingestCsv(csv, 'bench', schema);
    sluices.push((performance.now() - t) / 1000);
    if (r.rows !== ROWS) throw new Error(`sluice ingested ${r.rows} rows, expected ${ROWS}`);
    parquetBytes = r.bytes;
    if (withProgress) {
      // The same conversion with a listener, as the CLI runs it: DuckDB tracks the query's
      // progress and sluice polls it. Compared with the run without, in the same round.
      t = performance.now();
      await ingester.ingestCsv(csv, 'bench', schema, { onProgress: () => void progressEvents++ });
      progressed.push((performance.now() - t) / 1000);
    }
  }
  const raw = median(raws);
  const sluice = median(sluices);
  await ingester.close();
  console.log(`raw DuckDB COPY      median ${raw.toFixed(2)} s  ${(mb / raw).toFixed(0)} MB/s`);
  console.log(
    `sluice ingestCsv     median ${sluice.toFixed(2)} s  ${(mb / sluice).toFixed(0)} MB/s  (${(parquetBytes / 1e6).toFixed(1)} MB Parquet)`,
  );
  const ratios = raws.map((r, i) => r / (sluices[i] as number));
  const ratio = medianRatio(raws, sluices);
  console.log(`per-round ratios: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
  if (withProgress) {
    const cost = medianRatio(sluices, progressed);
    console.log(
      `with a progress listener: median ${median(progressed).toFixed(2)} s, ${progressEvents} events; throughput with / without, median of per-round ratios: ${cost.toFixed(2)}× (rounds: ${sluices.map((x, i) => (x / (progressed[i] as number)).toFixed(2)).join(' ')})`,
    );
  }
  console.log(
    `sluice / raw DuckDB throughput, median of ${ROUNDS} alternating rounds: ${ratio.toFixed(2)}× (goal ≥ 0.85×: ${ratio >= 0.85 ? 'met' : 'NOT met'})`,
  );
} finally {
  await engine.close();
  rmSync(work, { recursive: true, force: true });
}
