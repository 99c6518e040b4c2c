import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type AggregateFn,
  type PointValue,
  type StoredPoint,
  TimeSeriesStore,
} from '../../src/timeseries/index.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';

interface ModelPoint {
  variable: string;
  micros: number;
  value: PointValue;
  metadata?: Record<string, unknown>;
  seq: number;
}

const VARS = ['a', 'b', 'c d', 'é'];
const FNS: AggregateFn[] = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'];

const pointArb = fc.record({
  variable: fc.constantFrom(...VARS),
  // A small set of timestamps over several partitions, so duplicates and late points are common.
  timestamp: fc.integer({ min: 0, max: 60 }).map((x) => 1_700_000_000_000 + x * 1500),
  value: fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }).filter((x) => !Object.is(x, -0)),
    fc.integer({ min: -100, max: 100 }),
    fc.string({ maxLength: 5 }),
    fc.boolean(),
    fc.constant(null),
  ),
  metadata: fc.option(fc.record({ tag: fc.string({ maxLength: 4 }), n: fc.integer() }), { nil: undefined }),
});

const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(pointArb, { minLength: 1, maxLength: 30 }).map((b) => ({ batch: b })) },
  { weight: 2, arbitrary: pointArb.map((p) => ({ batch: [p] })) },
  { weight: 1, arbitrary: fc.constant({ compact: true as const }) },
);

function modelQuery(model: ModelPoint[], variable: string, keep: boolean): ModelPoint[] {
  const pts = model
    .filter((p) => p.variable === variable)
    .sort((x, y) => x.micros - y.micros || x.seq - y.seq);
  if (keep) return pts;
  const out: ModelPoint[] = [];
  for (const p of pts) {
    if (out.length > 0 && out[out.length - 1]?.micros === p.micros) out.pop();
    out.push(p);
  }
  return out;
}

function modelAggregate(pts: ModelPoint[], every: number, fn: AggregateFn) {
  const buckets = new Map<number, ModelPoint[]>();
  for (const p of pts) {
    const b = Math.floor(p.micros / every) * every;
    buckets.set(b, [...(buckets.get(b) ?? []), p]);
  }
  return [...buckets].map(([bucket, list]) => {
    const numeric = ['avg', 'min', 'max', 'sum'].includes(fn);
    const vals = list.map((p) => p.value).filter((v) => (numeric ? typeof v === 'number' : v !== null));
    let value: PointValue = null;
    if (fn === 'count') value = vals.length;
    else if (fn === 'first') value = vals[0] ?? null;
    else if (fn === 'last') value = vals[vals.length - 1] ?? null;
    else if (vals.length > 0) {
      const nums = vals as number[];
      let acc = nums[0] as number;
      for (const v of nums.slice(1))
        acc = fn === 'min' ? Math.min(v, acc) : fn === 'max' ? Math.max(v, acc) : acc + v;
      value = fn === 'avg' ? acc / nums.length : acc;
    }
    return { bucketMicros: bucket, value, count: vals.length };
  });
}

async function check(store: TimeSeriesStore, model: ModelPoint[], keep: boolean) {
  const vars = [...new Set(model.map((p) => p.variable))].sort();
  expect(await store.variables()).toEqual(vars);
  for (const v of vars) {
    const got: StoredPoint[] = [];
    for await (const p of store.query(v)) got.push(p);
    const want = modelQuery(model, v, keep);
    expect(got.map((p) => [p.micros, p.value, p.metadata])).toEqual(
      want.map((p) => [p.micros, p.value, p.metadata]),
    );
    const fn = FNS[want.length % FNS.length] as AggregateFn;
    const agg = await store.aggregate(v, { every: '4s', fn });
    expect(agg.map((r) => ({ bucketMicros: r.bucketMicros, value: r.value, count: r.count }))).toEqual(
      modelAggregate(want, 4_000_000, fn),
    );
    const last = await store.latest(v);
    expect(last?.value).toEqual(want[want.length - 1]?.value);
  }
}

describe('property: store equals an in-memory model', () => {
  const root = tempDir('ts-prop');
  let run = 0;
  for (const keep of [false, true]) {
    it(`query/aggregate/latest match the model before and after compaction (keepDuplicates=${keep})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 8 }), async (steps) => {
          const dir = path.join(root, `r${++run}`);
          const options = { keepDuplicates: keep, compactIntervalMs: 0, partitionMs: 20_000 };
          let store = await TimeSeriesStore.open(dir, options);
          const model: ModelPoint[] = [];
          let seq = 0;
          try {
            for (const step of steps) {
              if ('compact' in step) {
                await store.compact();
                continue;
              }
              // Single points take storeDataPoint's own encoding path; check it against the model too.
              const [only] = step.batch;
              if (step.batch.length === 1 && only) {
                await store.storeDataPoint(only.variable, only.timestamp, only.value, only.metadata);
              } else {
                await store.storeDataPoints(step.batch);
              }
              for (const p of step.batch) {
                const m: ModelPoint = {
                  variable: p.variable,
                  micros: p.timestamp * 1000,
                  value: p.value,
                  seq: ++seq,
                };
                if (p.metadata) m.metadata = p.metadata;
                model.push(m);
              }
            }
            await check(store, model, keep);
            await store.compact();
            await check(store, model, keep);
            await store.close();
            store = await TimeSeriesStore.open(dir, options);
            await check(store, model, keep);
          } finally {
            await store.close();
          }
        }),
        { numRuns: 25 },
      );
    }, 120_000);
  }
});
