/**
 * Segment files holding many variables: a compaction writes one file per window for all of them;
 * late points of one variable rewrite its run only (the file stays while other entries name it);
 * a file mostly replaced has its other runs carried out and is then deleted; a failed compaction
 * takes back only its own files; a writer opening the store removes unnamed files, never a named
 * one; a reader on S3 downloads a file once for all the variables in it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.ts';
import { createMemoryStorage } from '../../src/storage/index.ts';
import type { Storage } from '../../src/storage/types.ts';
import { type DataPointInput, TimeSeriesStore } from '../../src/timeseries/index.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { readManifestFile, segmentFiles, snapshot } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1);
const options = { compactIntervalMs: 0, compactPoints: 0 } as const;
const VARS = Array.from({ length: 10 }, (_, v) => `v${v}`);

/** 100 points of each of VARS, one a second, values v*1000 + i. */
const points = (): DataPointInput[] =>
  VARS.flatMap((variable, v) =>
    Array.from({ length: 100 }, (_, i) => ({ variable, timestamp: T0 + i * 1000, value: v * 1000 + i })),
  );

const open: TimeSeriesStore[] = [];
async function openStore(dir: string, o: Parameters<typeof TimeSeriesStore.open>[1] = options) {
  const s = await TimeSeriesStore.open(dir, o);
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe('segment files of many variables', () => {
  it('rewrite only the runs late points meet, keep a file while any entry names it, and carry out the rest once most is replaced', async () => {
    const dir = path.join(tempDir('ts-shared'), 'store');
    const store = await openStore(dir);
    await store.storeDataPoints(points());
    const first = await store.compact();
    expect(first).toMatchObject({ segmentsWritten: 10, filesWritten: 1, pointsRewritten: 0 });
    const [f1] = (await segmentFiles(dir)).live;

    // A late point of v0: its run (100 points) is rewritten into a new file, nothing else.
    await store.storeDataPoint('v0', T0 + 50_500, -1);
    const late = await store.compact();
    expect(late).toMatchObject({
      segmentsWritten: 1,
      segmentsRemoved: 1,
      filesWritten: 1,
      pointsRewritten: 100,
    });
    expect((await segmentFiles(dir)).live).toContain(f1);
    expect((await readManifestFile(dir)).segments.filter((s) => s.key === f1)).toHaveLength(9);

    // Late points of v1..v4 leave half of f1 named: the other five runs are carried out, f1 goes.
    await store.storeDataPoints(
      ['v1', 'v2', 'v3', 'v4'].map((variable) => ({ variable, timestamp: T0 + 10_500, value: -2 })),
    );
    const most = await store.compact();
    expect(most).toMatchObject({
      segmentsWritten: 9,
      segmentsRemoved: 9,
      filesWritten: 1,
      pointsRewritten: 900,
    });
    const files = await segmentFiles(dir);
    expect(files.live).not.toContain(f1);
    expect(files.orphans).toEqual([]);
    expect(files.live).toHaveLength(2);

    const want = await snapshot(store);
    expect(want.v0?.map((p) => p.value)).toContain(-1);
    expect(want.v3?.find((p) => p.micros === (T0 + 10_500) * 1000)?.value).toBe(-2);
    for (const v of VARS)
      expect(want[v]).toHaveLength(v === 'v0' || ['v1', 'v2', 'v3', 'v4'].includes(v) ? 101 : 100);
    const reader = await openStore(dir, { readOnly: true });
    expect(await snapshot(reader)).toEqual(want);
    for (const fn of ['avg', 'first', 'last', 'count'] as const)
      for (const v of VARS)
        expect(await reader.aggregate(v, { every: '10s', fn }), `${v} ${fn}`).toEqual(
          await store.aggregate(v, { every: '10s', fn }),
        );
    for (const v of VARS) expect(await reader.latest(v)).toEqual(await store.latest(v));
  });

  it('a compaction that fails takes back its own files only; the next open removes unnamed files and keeps named ones', async () => {
    const mem = createMemoryStorage();
    let failManifest = false;
    // The manifest put fails (a full disk, an S3 outage) after the segment files were written.
    const flaky: Storage = new Proxy(mem, {
      get(target, prop, receiver) {
        if (prop === 'put')
          return (...args: Parameters<Storage['put']>) =>
            failManifest && args[0] === 'manifest.json'
              ? Promise.reject(new StorageError('injected put failure'))
              : target.put(...args);
        return Reflect.get(target, prop, receiver);
      },
    });
    const keys = async () => {
      const out: string[] = [];
      for await (const e of mem.list({ prefix: 'segments/', recursive: true }))
        if (e.type === 'object') out.push(e.key);
      return out.sort();
    };
    const walDir = path.join(tempDir('ts-shared-fail'), 'wal');
    const store = await openStore('memory://ts-shared-fail', { ...options, storageInstance: flaky, walDir });
    await store.storeDataPoints(points());
    await store.compact();
    const before = await keys();
    const want = await snapshot(store);
    await store.storeDataPoints(VARS.map((variable) => ({ variable, timestamp: T0 + 5_500, value: 7 })));
    failManifest = true;
    await expect(store.compact()).rejects.toMatchObject({ code: 'E012' });
    failManifest = false;
    expect(await keys()).toEqual(before);
    for (const v of VARS) expect((await store.queryAll(v)).length).toBe(101);
    await store.close();
    open.splice(0);

    // A killed compaction's file (no entry names it) is removed when a writer opens; the named one stays.
    await mem.put('segments/window=2024-01-01T000000/killed.parquet', 'PAR1');
    const again = await openStore('memory://ts-shared-fail', { ...options, storageInstance: mem, walDir });
    expect(await keys()).toEqual(before);
    const after = await snapshot(again);
    for (const v of VARS) expect(after[v]?.filter((p) => p.micros !== (T0 + 5_500) * 1000)).toEqual(want[v]);
  });

  it('on S3, a reader downloads a file of many variables once for all of them', async () => {
    const b = await freshBucket('ts-shared-s3');
    const storage = s3Options();
    const walDir = path.join(tempDir('ts-shared-s3'), 'wal');
    const w = await openStore(b.url('s'), { ...options, storage, walDir });
    await w.storeDataPoints(points());
    await w.compact();
    const reader = await openStore(b.url('s'), {
      readOnly: true,
      readWalTail: false,
      storage,
      walDir: path.join(tempDir('ts-shared-s3-r'), 'wal'),
    });
    const gets: string[] = [];
    const inner = (reader as unknown as { state: { storage: Storage } }).state.storage;
    const get = inner.get.bind(inner);
    inner.get = (key, o) => {
      gets.push(key);
      return get(key, o);
    };
    for (const v of VARS)
      expect((await reader.queryAll(v)).map((p) => p.value)).toEqual(
        (await w.queryAll(v)).map((p) => p.value),
      );
    expect(gets.filter((k) => k.startsWith('segments/'))).toHaveLength(1);
  });

  it('a local writer opening the store removes an unnamed segment file of either layout', async () => {
    const dir = path.join(tempDir('ts-shared-orphan'), 'store');
    const store = await openStore(dir);
    await store.storeDataPoints(points());
    await store.compact();
    await store.close();
    open.splice(0);
    const planted = [
      'segments/window=2024-01-01T000000/x-1.parquet',
      'segments/var=v0/window=2024-01-01T000000/x-2.parquet',
    ];
    for (const p of planted) {
      mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      writeFileSync(path.join(dir, p), 'PAR1');
    }
    const named = (await segmentFiles(dir)).live;
    await openStore(dir);
    for (const p of planted) expect(existsSync(path.join(dir, p))).toBe(false);
    expect((await segmentFiles(dir)).live).toEqual(named);
  });
});
