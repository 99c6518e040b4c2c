import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import { type StoredPoint, TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const root = tempDir('ts-store');
let n = 0;
const fresh = () => path.join(root, `s${++n}`);
const open: TimeSeriesStore[] = [];
async function openStore(dir: string, options = {}) {
  const s = await TimeSeriesStore.open(dir, { compactIntervalMs: 0, ...options });
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function all(s: TimeSeriesStore, v: string, o = {}): Promise<StoredPoint[]> {
  const out: StoredPoint[] = [];
  for await (const p of s.query(v, o)) out.push(p);
  return out;
}

describe('TimeSeriesStore', () => {
  it("runs the seed's usage example", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const variable1 = 'sensor_temp_celsius';
    const timestamp1 = new Date('2024-05-01T10:00:00.000Z');
    const metadata1 = { location: 'room_a', sensor_id: 'xyz123' };
    await store.storeDataPoint(variable1, timestamp1, 25.5, metadata1);
    await store.storeDataPoint('system_load_avg', '2023-10-27T14:30:00Z', 0.65, { host: 'server01' });
    await store.storeDataPoint(variable1, new Date('2024-05-01T10:00:01.000Z'), 25.8, metadata1);
    await store.close();
    const again = await openStore(dir);
    expect(await all(again, variable1)).toEqual([
      {
        variable: variable1,
        timestamp: '2024-05-01T10:00:00.000000Z',
        micros: 1714557600000000,
        value: 25.5,
        metadata: metadata1,
      },
      {
        variable: variable1,
        timestamp: '2024-05-01T10:00:01.000000Z',
        micros: 1714557601000000,
        value: 25.8,
        metadata: metadata1,
      },
    ]);
    expect((await again.latest('system_load_avg'))?.value).toBe(0.65);
    expect(await again.variables()).toEqual(['sensor_temp_celsius', 'system_load_avg']);
  });

  it('accepts every timestamp form with microsecond precision, in UTC', async () => {
    const s = await openStore(fresh());
    await s.storeDataPoints([
      { variable: 'v', timestamp: '2024-01-01T00:00:00.123456Z', value: 1 },
      { variable: 'v', timestamp: '2024-01-01T02:00:00+02:00', value: 2 },
      { variable: 'v', timestamp: Date.UTC(2024, 0, 1, 0, 0, 1), value: 3 },
      { variable: 'v', timestamp: 1704067202000001, value: 4 },
      { variable: 'v', timestamp: 1704067203000000n, value: 5 },
      { variable: 'v', timestamp: '2024-01-01 00:00:04', value: 6 },
    ]);
    const rows = await all(s, 'v');
    expect(rows.map((r) => [r.timestamp, r.value])).toEqual([
      ['2024-01-01T00:00:00.000000Z', 2],
      ['2024-01-01T00:00:00.123456Z', 1],
      ['2024-01-01T00:00:01.000000Z', 3],
      ['2024-01-01T00:00:02.000001Z', 4],
      ['2024-01-01T00:00:03.000000Z', 5],
      ['2024-01-01T00:00:04.000000Z', 6],
    ]);
  });

  it('orders out-of-order points, resolves duplicates last-write-wins, before and after compaction', async () => {
    const dir = fresh();
    const s = await openStore(dir);
    await s.storeDataPoints([
      { variable: 'x', timestamp: 3000, value: 'c' },
      { variable: 'x', timestamp: 1000, value: 'a' },
      { variable: 'x', timestamp: 2000, value: 1 },
      { variable: 'x', timestamp: 2000, value: 2 },
    ]);
    const expected = [
      [1000000, 'a'],
      [2000000, 2],
      [3000000, 'c'],
    ];
    expect((await all(s, 'x')).map((r) => [r.micros, r.value])).toEqual(expected);
    await s.compact();
    expect((await all(s, 'x')).map((r) => [r.micros, r.value])).toEqual(expected);
    await s.storeDataPoint('x', 2000, true);
    expect((await all(s, 'x')).map((r) => r.value)).toEqual(['a', true, 'c']);
    await s.compact();
    await s.close();
    const again = await openStore(dir);
    expect((await all(again, 'x')).map((r) => r.value)).toEqual(['a', true, 'c']);
    expect((await all(again, 'x', { order: 'desc', limit: 2 })).map((r) => r.value)).toEqual(['c', true]);
    expect((await all(again, 'x', { from: 2000, to: 3000 })).map((r) => r.value)).toEqual([true]);
  });

  it('keeps duplicates when asked', async () => {
    const s = await openStore(fresh(), { keepDuplicates: true });
    await s.storeDataPoints([
      { variable: 'x', timestamp: 1000, value: 1 },
      { variable: 'x', timestamp: 1000, value: 2 },
    ]);
    await s.compact();
    await s.storeDataPoint('x', 1000, 3);
    expect((await all(s, 'x')).map((r) => r.value)).toEqual([1, 2, 3]);
  });

  it('rejects bad points with E051 naming the point, and stores nothing of the batch', async () => {
    const dir = fresh();
    const s = await openStore(dir);
    await s.storeDataPoint('ok', 1000, 1);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const bad: [string, unknown, unknown, unknown, RegExp][] = [
      ['..', 1000, 1, undefined, /variable.*traversal/],
      ['../etc', 1000, 1, undefined, /path separator/],
      ['a/b', 1000, 1, undefined, /path separator/],
      ['ctl\u0007', 1000, 1, undefined, /control/],
      ['x'.repeat(257), 1000, 1, undefined, /256 bytes/],
      ['', 1000, 1, undefined, /empty/],
      ['ok', 'not a time', 1, undefined, /timestamp/],
      ['ok', '2024-02-31T00:00:00Z', 1, undefined, /timestamp/],
      ['ok', 1000, Number.NaN, undefined, /finite/],
      ['ok', 1000, Number.POSITIVE_INFINITY, undefined, /finite/],
      ['ok', 1000, { a: 1 }, undefined, /value/],
      ['ok', 1000, 1, [1, 2], /metadata.*JSON object/],
      ['ok', 1000, 1, cycle, /cycle/],
      ['ok', 1000, 1, { f: () => 1 }, /function/],
      ['ok', 1000, 1, { n: 10n }, /bigint/],
      ['ok', 1000, 1, { d: new Date() }, /Date/],
    ];
    for (const [variable, timestamp, value, metadata, re] of bad) {
      const batch = [
        { variable: 'ok', timestamp: 5000, value: 5 },
        { variable, timestamp, value, metadata },
      ] as never;
      const err = await s.storeDataPoints(batch).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('E051');
      expect((err as Error).message).toMatch(/Point 1/);
      expect((err as Error).message).toMatch(re);
    }
    expect((await all(s, 'ok')).map((r) => r.value)).toEqual([1]);
    await s.close();
    const again = await openStore(dir);
    expect((await all(again, 'ok')).map((r) => r.value)).toEqual([1]);
    expect(await again.variables()).toEqual(['ok']);
  });

  it('aggregates into buckets with every function', async () => {
    const s = await openStore(fresh());
    const t0 = Date.UTC(2024, 0, 1);
    await s.storeDataPoints([
      { variable: 'a', timestamp: t0 + 1000, value: 1 },
      { variable: 'a', timestamp: t0 + 2000, value: 3 },
      { variable: 'a', timestamp: t0 + 61_000, value: 10 },
      { variable: 'a', timestamp: t0 + 62_000, value: 'text' },
      { variable: 'b', timestamp: t0, value: 7 },
    ]);
    const agg = async (fn: string) =>
      (await s.aggregate(['a', 'b'], { every: '1m', fn: fn as never })).map((r) => [
        r.variable,
        r.bucket,
        r.value,
      ]);
    expect(await agg('avg')).toEqual([
      ['a', '2024-01-01T00:00:00.000000Z', 2],
      ['a', '2024-01-01T00:01:00.000000Z', 10],
      ['b', '2024-01-01T00:00:00.000000Z', 7],
    ]);
    expect((await agg('sum')).map((r) => r[2])).toEqual([4, 10, 7]);
    expect((await agg('min')).map((r) => r[2])).toEqual([1, 10, 7]);
    expect((await agg('max')).map((r) => r[2])).toEqual([3, 10, 7]);
    expect((await agg('count')).map((r) => r[2])).toEqual([2, 2, 1]);
    expect((await agg('first')).map((r) => r[2])).toEqual([1, 10, 7]);
    expect((await agg('last')).map((r) => r[2])).toEqual([3, 'text', 7]);
    await expect(s.aggregate('a', { every: 'soon' })).rejects.toMatchObject({ code: 'E020' });
    await expect(s.aggregate('a', { every: '1m', fn: 'median' as never })).rejects.toMatchObject({
      code: 'E020',
    });
  });

  it('applies retention and keeps it across reopen', async () => {
    const dir = fresh();
    const s = await openStore(dir, { partitionMs: 3_600_000 });
    const t0 = Date.UTC(2024, 0, 1);
    await s.storeDataPoints(
      Array.from({ length: 10 }, (_, i) => ({ variable: 'r', timestamp: t0 + i * 1_800_000, value: i })),
    );
    const res = await s.applyRetention({ olderThan: t0 + 5 * 1_800_000 });
    expect(res.pointsRemoved).toBe(5);
    expect((await all(s, 'r')).map((r) => r.value)).toEqual([5, 6, 7, 8, 9]);
    await s.storeDataPoint('r', t0, 'late and too old');
    expect((await all(s, 'r')).map((r) => r.value)).toEqual([5, 6, 7, 8, 9]);
    await s.close();
    const again = await openStore(dir);
    expect((await all(again, 'r')).map((r) => r.value)).toEqual([5, 6, 7, 8, 9]);
  });

  it('allows one writer per store and validates options', async () => {
    const dir = fresh();
    await openStore(dir);
    await expect(TimeSeriesStore.open(dir)).rejects.toMatchObject({ code: 'E071' });
    await expect(TimeSeriesStore.open(fresh(), { groupCommitMs: -1 })).rejects.toThrow(/groupCommitMs/);
    await expect(TimeSeriesStore.open(fresh(), { durability: 'never' as never })).rejects.toThrow(
      /durability/,
    );
  });

  it('shares fsyncs between concurrent writers and keeps every point', async () => {
    const dir = fresh();
    const s = await openStore(dir);
    await Promise.all(
      Array.from({ length: 50 }, async (_, p) => {
        for (let i = 0; i < 20; i++) await s.storeDataPoint(`p${p % 5}`, 1_000_000 + p * 100 + i, i);
      }),
    );
    const stats = await s.stats();
    expect(stats.bufferedPoints).toBe(1000);
    await s.close();
    const again = await openStore(dir);
    let total = 0;
    for (const v of await again.variables()) total += (await all(again, v)).length;
    expect(total).toBe(1000);
  });
});

describe('write-ahead log', () => {
  it('survives open/close without writes, then compaction, then more writes', async () => {
    const dir = fresh();
    for (let i = 0; i < 2; i++) await (await TimeSeriesStore.open(dir, { compactIntervalMs: 0 })).close();
    const s = await openStore(dir);
    await s.storeDataPoint('a', 1000, 1);
    await s.compact();
    await s.storeDataPoint('a', 2000, 2);
    await s.close();
    const again = await openStore(dir);
    expect((await all(again, 'a')).map((p) => p.value)).toEqual([1, 2]);
  });

  it('cuts a torn tail off on recovery and keeps every whole record', async () => {
    const { appendFileSync, readdirSync } = await import('node:fs');
    const dir = fresh();
    const s = await openStore(dir);
    await s.storeDataPoints([{ variable: 'a', timestamp: 1000, value: 1 }]);
    await s.storeDataPoints([{ variable: 'a', timestamp: 2000, value: 2 }]);
    await s.close();
    const wal = path.join(dir, 'wal');
    const file = readdirSync(wal).filter((f) => f.endsWith('.log') && !f.endsWith('0003.log'))[0] as string;
    // A half-written record: a length that promises more bytes than follow.
    appendFileSync(path.join(wal, file), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 1, 9]));
    const again = await openStore(dir);
    expect((await all(again, 'a')).map((p) => p.value)).toEqual([1, 2]);
    await again.storeDataPoint('a', 3000, 3);
    await again.close();
    const third = await openStore(dir);
    expect((await all(third, 'a')).map((p) => p.value)).toEqual([1, 2, 3]);
  });
});

describe('compaction', () => {
  it('runs while appends continue, and loses or doubles nothing', async () => {
    const dir = fresh();
    const s = await openStore(dir, { partitionMs: 60_000 });
    const batch = (k: number) =>
      Array.from({ length: 500 }, (_, i) => ({
        variable: `v${i % 4}`,
        timestamp: k * 1_000_000 + i * 10,
        value: k * 1000 + i,
      }));
    for (let k = 0; k < 20; k++) await s.storeDataPoints(batch(k));
    const compaction = s.compact();
    const during: Promise<void>[] = [];
    for (let k = 20; k < 40; k++) during.push(s.storeDataPoints(batch(k)));
    await Promise.all(during);
    const res = await compaction;
    expect(res.points).toBeGreaterThanOrEqual(10_000);
    const stats = await s.stats();
    expect(stats.segmentPoints + stats.bufferedPoints).toBe(20_000);
    await s.compact();
    await s.close();
    const again = await openStore(dir);
    let total = 0;
    for (const v of await again.variables()) total += (await all(again, v)).length;
    expect(total).toBe(20_000);
    expect((await again.stats()).bufferedPoints).toBe(0);
  });

  it('background compaction triggers on buffered points', async () => {
    const s = await openStore(fresh(), { compactPoints: 1000 });
    await s.storeDataPoints(
      Array.from({ length: 1500 }, (_, i) => ({ variable: 'b', timestamp: i, value: i })),
    );
    for (let i = 0; i < 100 && (await s.stats()).segmentPoints === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await s.stats()).segmentPoints).toBe(1500);
  });
});

describe('compaction failure', () => {
  it('keeps every point visible and durable when publishing fails, and succeeds later', async () => {
    const { createMemoryStorage } = await import('../../src/storage/index.ts');
    const { StorageError } = await import('../../src/errors.ts');
    const mem = createMemoryStorage();
    let failPuts = 1;
    // A real memory storage whose next put fails, as a full disk or an S3 outage would.
    const flaky = new Proxy(mem, {
      get(target, prop, receiver) {
        if (prop === 'put') {
          return (...args: Parameters<typeof mem.put>) => {
            if (failPuts-- > 0) return Promise.reject(new StorageError('injected put failure'));
            return target.put(...args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const walDir = path.join(fresh(), 'wal');
    const s = await openStore('memory://ts-fail', { storageInstance: flaky, walDir });
    await s.storeDataPoints([
      { variable: 'f', timestamp: 1000, value: 1 },
      { variable: 'f', timestamp: 2000, value: 2 },
    ]);
    await expect(s.compact()).rejects.toMatchObject({ code: 'E012' });
    await s.storeDataPoint('f', 3000, 3);
    expect((await all(s, 'f')).map((p) => p.value)).toEqual([1, 2, 3]);
    const res = await s.compact();
    expect(res.points).toBe(3);
    expect((await all(s, 'f')).map((p) => p.value)).toEqual([1, 2, 3]);
    expect((await s.stats()).segmentPoints).toBe(3);
  });
});
