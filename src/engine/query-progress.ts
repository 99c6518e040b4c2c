/**
 * How far DuckDB is through the query a connection runs, by its own estimate (the share of the
 * input its scans have read), polled while the query runs. This is how a `COPY` of a large CSV
 * reports progress without sluice reading the file a second time.
 */
import { PROGRESS_INTERVAL_MS } from '../util/progress.ts';
import type { DuckDBConnection } from './duckdb.ts';

/**
 * Runs `run` (a query on `conn`) while calling `onFraction` with 0…1 every `intervalMs`, then
 * once with 1 when it succeeds. Without `onFraction` it only runs `run`: DuckDB tracks progress
 * only on connections that ask for it.
 */
export async function withQueryProgress<T>(
  conn: DuckDBConnection,
  onFraction: ((fraction: number) => void) | undefined,
  run: () => Promise<T>,
  intervalMs = PROGRESS_INTERVAL_MS,
): Promise<T> {
  if (!onFraction) return run();
  // Tracked, not printed: DuckDB would otherwise draw its own bar on the process's stdout.
  await conn.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false');
  let last = 0;
  const timer = setInterval(() => {
    const percent = conn.progress.percentage; // -1 while no query runs
    const fraction = Math.min(1, percent / 100);
    if (percent >= 0 && fraction > last) {
      last = fraction;
      onFraction(fraction);
    }
  }, intervalMs);
  timer.unref();
  try {
    const result = await run();
    onFraction(1);
    return result;
  } finally {
    clearInterval(timer);
  }
}
