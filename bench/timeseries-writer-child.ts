/**
 * One writer process of bench/timeseries-writers.ts: appends `n` points of its own variables in
 * durable batches of 10,000 (fresh objects per point, as parsing makes them), compacts once at the
 * end, closes, and prints nothing: the parent times the whole process.
 *   node bench/timeseries-writer-child.ts <store> <tag> <n>
 */
import { TimeSeriesStore } from '../src/timeseries/index.ts';

const [dir = '', tag = '', nArg = '0'] = process.argv.slice(2);
const n = Number(nArg);
const T0 = Date.UTC(2024, 0, 1);
const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, compactPoints: 0 });
for (let i = 0; i < n; i += 10_000) {
  const batch = [];
  for (let k = i; k < Math.min(n, i + 10_000); k++)
    batch.push({
      variable: `${tag}-v${k % 100}`,
      timestamp: T0 + Math.floor(k / 100) * 1000,
      value: k * 0.5,
      metadata: { unit: 'C', source: tag, quality: k % 3 },
    });
  await store.storeDataPoints(batch);
}
await store.compact();
await store.close();
