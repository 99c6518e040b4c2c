/**
 * One measurement of bench/timeseries.ts in a process of its own, printing one JSON line:
 *
 *   node --expose-gc bench/timeseries-child.ts append <system> <dataset> <n> <target>
 *     appends n points with one system (timeseries-systems.ts) and reports its times and its peak
 *     memory beyond the process it started in: VmHWM − VmRSS, both from /proc/self/status, the
 *     baseline taken after loading every module (DuckDB's library too) and making one batch, and
 *     the high-water mark reset to it there (`5` into /proc/self/clear_refs, Linux ≥ 4.0).
 *   node bench/timeseries-child.ts query <system> <query> <target> <downsampleMs>
 *     opens a store or database read-only, cold (a fresh process; the OS page cache stays warm),
 *     and times its first answer to one query (timeseries-queries.ts).
 */
import '@duckdb/node-api';
import { readFileSync, writeFileSync } from 'node:fs';
import { DATASETS, makeBatch } from './timeseries-data.ts';
import { openSystem, type QuerySpec, type QuerySystem } from './timeseries-queries.ts';
import { SYSTEMS } from './timeseries-systems.ts';

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]);
}

function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const [mode, system = '', arg = '', a3 = '', a4 = ''] = process.argv.slice(2);
if (mode === 'append') {
  const sys = SYSTEMS[system];
  const ds = DATASETS[arg];
  if (!sys || !ds) throw new Error(`unknown system ${system} or data set ${arg}`);
  makeBatch(ds, 0, 10_000);
  (globalThis as { gc?: () => void }).gc?.();
  const baseKiB = statusKiB('VmRSS');
  const reset = resetPeak();
  const result = await sys.append(a4, ds, Number(a3));
  const peakKiB = statusKiB('VmHWM');
  console.log(
    JSON.stringify({ ...result, baseMiB: baseKiB / 1024, extraMiB: (peakKiB - baseKiB) / 1024, reset }),
  );
} else if (mode === 'query') {
  const t0 = performance.now();
  const opened = await openSystem(system as QuerySystem, a3, true);
  const t1 = performance.now();
  const rows = await opened.run(arg as QuerySpec['id'], Number(a4));
  const t2 = performance.now();
  await opened.close();
  console.log(JSON.stringify({ openMs: t1 - t0, queryMs: t2 - t1, rows }));
} else {
  throw new Error(`usage: timeseries-child.ts append|query …, not ${mode}`);
}
