/**
 * Buffered points are bounded by `compactBytes`: compaction starts in the background once the
 * active set holds that much, and appends wait while it is full and a compaction still writes the
 * set before it. Ingest faster than compaction then slows to compaction's pace instead of growing
 * memory; no point is lost or reordered by the wait, and a failing compaction does not block.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.ts';
import { createMemoryStorage } from '../../src/storage/index.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import type { StoreState } from '../../src/timeseries/state.ts';
import { tempDir } from '../helpers/tmp.ts';

const root = tempDir('ts-memory-bound');
let n = 0;
const fresh = () => path.join(root, `s${++n}`);
const open: TimeSeriesStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** Bytes a buffered numeric point takes (columns.ts BUFFER_BYTES_PER_POINT). */
const PER_POINT = 29;
const LIMIT_POINTS = 4000;
const BATCH = 1000;

function batch(k: number) {
  return Array.from({ length: BATCH }, (_, i) => {
    const j = k * BATCH + i;
    return { variable: `v${j % 3}`, timestamp: 1_700_000_000_000 + j, value: j, metadata: { k: j % 2 } };
  });
}

describe('memory bound on buffered points (compactBytes)', () => {
  it('compacts by bytes and never buffers much more than twice the limit, losing nothing', async () => {
    const dir = fresh();
    const store = await TimeSeriesStore.open(dir, {
      compactIntervalMs: 0,
      compactPoints: 0,
      compactBytes: LIMIT_POINTS * PER_POINT,
    });
    open.push(store);
    let most = 0;
    const batches = 40;
    for (let k = 0; k < batches; k++) {
      await store.storeDataPoints(batch(k));
      most = Math.max(most, (await store.stats()).bufferedPoints);
    }
    await store.flush();
    // Active (up to the limit, plus the batch that crossed it) and frozen (the same): no more.
    expect(most).toBeLessThanOrEqual(2 * (LIMIT_POINTS + BATCH));
    expect(most).toBeGreaterThan(0);
    const stats = await store.stats();
    expect(stats.segmentPoints).toBeGreaterThan(0);
    await store.close();
    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    open.push(reader);
    const values: number[] = [];
    for (const v of ['v0', 'v1', 'v2'])
      for (const p of await reader.queryAll(v)) values.push(p.value as number);
    expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: batches * BATCH }, (_, j) => j));
  });

  it('with compactBytes 0 buffers everything and compacts nothing by itself', async () => {
    const store = await TimeSeriesStore.open(fresh(), {
      compactIntervalMs: 0,
      compactPoints: 0,
      compactBytes: 0,
    });
    open.push(store);
    for (let k = 0; k < 10; k++) await store.storeDataPoints(batch(k));
    const stats = await store.stats();
    expect(stats.bufferedPoints).toBe(10 * BATCH);
    expect(stats.segmentPoints).toBe(0);
  });

  it('appends go on (nothing waits for ever) when every compaction fails, and all points stay visible', async () => {
    const mem = createMemoryStorage();
    // Every put fails, as on a full disk: compactions are refused and put their points back.
    const failing = new Proxy(mem, {
      get(target, prop, receiver) {
        if (prop === 'put') return () => Promise.reject(new StorageError('injected put failure'));
        return Reflect.get(target, prop, receiver);
      },
    });
    const store = await TimeSeriesStore.open('memory://ts-bound-fail', {
      storageInstance: failing,
      walDir: path.join(fresh(), 'wal'),
      compactIntervalMs: 0,
      compactPoints: 0,
      compactBytes: LIMIT_POINTS * PER_POINT,
    });
    open.push(store);
    for (let k = 0; k < 20; k++) await store.storeDataPoints(batch(k));
    await store.flush();
    const stats = await store.stats();
    expect(stats.segmentPoints).toBe(0);
    expect(stats.bufferedPoints).toBe(20 * BATCH);
    let count = 0;
    for (const v of ['v0', 'v1', 'v2']) count += (await store.queryAll(v)).length;
    expect(count).toBe(20 * BATCH);
  });

  it('a writer that only appends and compacts never starts DuckDB, nor does a reader that queries, aggregates and reads latest', async () => {
    // A DuckDB instance costs ~13 MiB of RSS and its threads (docs/timeseries.md, "Memory").
    const engineOf = (s: TimeSeriesStore) => (s as unknown as { state: StoreState }).state.engine;
    const dir = fresh();
    const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
    open.push(store);
    for (let k = 0; k < 5; k++) await store.storeDataPoints(batch(k));
    await store.compact();
    expect((await store.stats()).segmentPoints).toBe(5 * BATCH);
    expect(engineOf(store).started).toBe(false);
    await store.close();
    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    open.push(reader);
    expect(await reader.queryAll('v0')).toHaveLength(Math.ceil((5 * BATCH) / 3));
    expect(await reader.aggregate('v1', { every: 1000, fn: 'avg' })).not.toHaveLength(0);
    expect((await reader.latest(['v0', 'v1', 'v2'])).every((p) => p !== undefined)).toBe(true);
    expect(engineOf(reader).started).toBe(false);
  });
});
