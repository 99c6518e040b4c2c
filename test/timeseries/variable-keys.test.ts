/**
 * Variable names outside the BMP. Segment files are keyed by window, not by variable, so names no
 * longer reach keys; stores of the earlier layout keyed files by an encoded name, and the encoding
 * before its `u` flag put x😀 and x😁 (and x\uFFFD\uFFFD) in one folder: such stores still open.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { readManifestFile, toLegacyLayout } from './helpers.ts';

/** The key encoding of the earliest layout, under which x😀 and x😁 shared a folder. */
function oldEncoding(variable: string): string {
  return variable.replace(/[^A-Za-z0-9_.-]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

describe('time-series store with names outside the BMP', () => {
  const root = tempDir('ts-keys');
  let n = 0;
  const fresh = () => path.join(root, `s${++n}`);
  const open: TimeSeriesStore[] = [];
  const openStore = async (dir: string) => {
    const s = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
    open.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });
  const values = async (s: TimeSeriesStore, v: string) => {
    const out: unknown[] = [];
    for await (const p of s.query(v)) out.push(p.value);
    return out;
  };

  it('keeps x😀 and x😁 apart: one file, a run each', async () => {
    const dir = fresh();
    const store = await openStore(dir);
    await store.storeDataPoint('x😀', '2024-01-01T00:00:00Z', 1);
    await store.storeDataPoint('x😁', '2024-01-01T00:00:00Z', 2);
    await store.compact();
    const manifest = await readManifestFile(dir);
    expect(manifest.segments.map((s) => s.variable).sort()).toEqual(['x😀', 'x😁']);
    expect(new Set(manifest.segments.map((s) => s.key)).size).toBe(1);
    expect(await values(store, 'x😀')).toEqual([1]);
    expect(await values(store, 'x😁')).toEqual([2]);
  });

  it('opens a store whose files of both names were written under one old key folder, and rewrites only the one new points meet', async () => {
    const dir = fresh();
    const store = await openStore(dir);
    await store.storeDataPoint('x😀', '2024-01-01T00:00:00Z', 1);
    await store.storeDataPoint('x😁', '2024-01-01T00:00:01Z', 2);
    await store.compact();
    await store.close();
    open.splice(open.indexOf(store), 1);
    let n = 0;
    await toLegacyLayout(
      dir,
      (e) => `segments/var=${oldEncoding(e.variable)}/window=2024-01-01T000000/old-${++n}.parquet`,
    );
    expect(readdirSync(path.join(dir, 'segments'))).toEqual(['var=x%EF%BF%BD%EF%BF%BD']);

    const reopened = await openStore(dir);
    expect(await values(reopened, 'x😀')).toEqual([1]);
    expect(await values(reopened, 'x😁')).toEqual([2]);
    // A point among x😀's segment (here: replacing its one point) rewrites it into a new file.
    await reopened.storeDataPoint('x😀', '2024-01-01T00:00:00Z', 3);
    await reopened.compact();
    expect(await values(reopened, 'x😀')).toEqual([3]);
    expect(await values(reopened, 'x😁')).toEqual([2]);
    const after = await readManifestFile(dir);
    const keyOf = (v: string) => after.segments.find((s) => s.variable === v)?.key ?? '';
    expect(keyOf('x😀')).toMatch(/^segments\/window=2024-01-01T000000\/[^/]+\.parquet$/);
    expect(keyOf('x😁')).toMatch(/^segments\/var=x%EF%BF%BD%EF%BF%BD\//);
  });

  it('refuses a name with a lone surrogate (E051) instead of storing U+FFFD', async () => {
    const store = await openStore(fresh());
    const error = await store.storeDataPoint('x\uD83D', '2024-01-01T00:00:00Z', 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E051' });
    expect((error as Error).message).toMatch(/lone surrogate/);
  });
});
