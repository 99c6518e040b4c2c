/**
 * Input of bench/timeseries.ts: points as sluice receives them from a poller, an HTTP ingest or
 * `ts import` — produced by JSON.parse of NDJSON text, so every point has its own metadata object
 * and values are what JSON parsing makes. Batches are generated one at a time, deterministically
 * from their index, so every system (each in its own process) gets equal, freshly parsed objects
 * and memory never holds the whole input (20M points would not fit in a V8 heap).
 */
import type { DataPointInput } from '../src/timeseries/index.ts';

export const BATCH = 10_000;
export const T0 = Date.UTC(2024, 0, 1);

export interface Dataset {
  id: string;
  label: string;
  variables: number;
  /** true: one metadata object per variable, reused by every point (the pre-#21 bench); epoch-ms timestamps. */
  reusedMetadata: boolean;
}

export const DATASETS: Record<string, Dataset> = {
  real100: { id: 'real100', label: 'parsed JSON, 100 variables', variables: 100, reusedMetadata: false },
  real10k: {
    id: 'real10k',
    label: 'parsed JSON, 10,000 variables',
    variables: 10_000,
    reusedMetadata: false,
  },
  reused100: {
    id: 'reused100',
    label: 'old shape: one metadata object per variable, 100 vars',
    variables: 100,
    reusedMetadata: true,
  },
};

/** Point j: variable j mod V, one reading per variable per second; sensor-like values, two decimals. */
function pointParts(j: number, variables: number): { v: number; ms: number; value: number } {
  const v = j % variables;
  const ms = T0 + Math.floor(j / variables) * 1000;
  const value = Math.round((20 + 5 * Math.sin(j / 50_000) + ((j * 7919) % 100) / 100) * 100) / 100;
  return { v, ms, value };
}

/** Time span of n points over `variables` variables, in ms. */
export const spanMs = (n: number, variables: number) => Math.ceil(n / variables) * 1000;

/** The NDJSON text a producer would send for points [from, to). */
export function ndjson(ds: Dataset, from: number, to: number): string {
  let text = '';
  for (let j = from; j < to; j++) {
    const { v, ms, value } = pointParts(j, ds.variables);
    const quality = j % 97 === 0 ? 'uncertain' : 'good';
    text += `{"variable":"var_${v}","timestamp":"${new Date(ms).toISOString()}","value":${value},"metadata":{"unit":"C","source":"sensor-${v}","quality":"${quality}"}}\n`;
  }
  return text;
}

const reusedMetas = new Map<number, Record<string, unknown>>();

/** Batch [from, to) as the system under test receives it. */
export function makeBatch(ds: Dataset, from: number, to: number): DataPointInput[] {
  if (!ds.reusedMetadata)
    return ndjson(ds, from, to)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
  const out: DataPointInput[] = [];
  for (let j = from; j < to; j++) {
    const { v, ms, value } = pointParts(j, ds.variables);
    const metadata = reusedMetas.get(v) ?? { unit: 'C', source: `sensor-${v}`, quality: 'good' };
    reusedMetas.set(v, metadata);
    out.push({ variable: `var_${v}`, timestamp: ms, value, metadata });
  }
  return out;
}

/** Epoch µs of a point's timestamp as a peer's user would compute it (ISO string or epoch ms). */
export function micros(ts: DataPointInput['timestamp']): number {
  return (typeof ts === 'string' ? Date.parse(ts) : (ts as number)) * 1000;
}

/**
 * Calls `fn` once per batch of n points and returns the time spent inside `fn` only: making and
 * parsing the batch is the producer's work, the same for every system, and not counted.
 * `between(done)` runs untimed after each batch (sluice's compactions are timed by the caller).
 */
export async function forEachBatch(
  ds: Dataset,
  n: number,
  fn: (batch: DataPointInput[]) => Promise<void> | void,
  between?: (done: number) => Promise<void>,
): Promise<number> {
  let ms = 0;
  for (let i = 0; i < n; i += BATCH) {
    const batch = makeBatch(ds, i, Math.min(n, i + BATCH));
    const t = performance.now();
    await fn(batch);
    ms += performance.now() - t;
    await between?.(Math.min(n, i + BATCH));
  }
  return ms;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[s.length >> 1] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
