/**
 * The manifest's two versions: a store whose files each hold one variable keeps writing version 1
 * (which earlier sluice reads); files of many variables make it version 2, listed per file column
 * by column and read back as the same entries. A broken version 2 body is refused with E050 naming
 * the manifest, and a writer opening such a store changes nothing.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../../src/storage/index.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import {
  emptyManifest,
  MANIFEST_KEY,
  type Manifest,
  readManifest,
  type SegmentEntry,
} from '../../src/timeseries/manifest.ts';
import { decodeManifest, encodeManifest } from '../../src/timeseries/manifest-codec.ts';
import { tempDir } from '../helpers/tmp.ts';

const W = Date.UTC(2024, 0, 1) * 1000;
const file = { rows: 30, bytes: 3000 };
/** A run of a file of many variables. */
const run = (
  key: string,
  variable: string,
  rowStart: number,
  rows: number,
  min: number,
  max: number,
): SegmentEntry => ({
  key,
  variable,
  window: W,
  minMicros: W + min,
  maxMicros: W + max,
  rows,
  bytes: Math.round((file.bytes * rows) / file.rows),
  rowStart,
  file,
  last: { type: 1, num: max, meta: '{"u":"C"}' },
});
const legacy: SegmentEntry = {
  key: 'segments/var=a/window=2024-01-01T000000/old.parquet',
  variable: 'a',
  window: W,
  minMicros: W,
  maxMicros: W + 5,
  rows: 6,
  bytes: 900,
  last: { type: 2, num: 0, str: 's' },
};

describe('manifest versions', () => {
  it('stays version 1 while every file holds one variable', () => {
    const m: Manifest = { ...emptyManifest(), compactedSeq: 4, segments: [legacy], retainFrom: W };
    const json = JSON.parse(encodeManifest(m));
    expect(json.version).toBe(1);
    expect(json.files).toBeUndefined();
    expect(decodeManifest(json)).toEqual(m);
  });

  it('lists files of many variables per file, and reads them back as the same entries', () => {
    const k1 = 'segments/window=2024-01-01T000000/one.parquet';
    const k2 = 'segments/window=2024-01-01T000000/two.parquet';
    // Run b of k1 (rows 10-19) was replaced: the file keeps its rows, no entry names them.
    const a1 = run(k1, 'a', 0, 10, 10, 19);
    const c1 = run(k1, 'c', 20, 10, 0, 9);
    const b2 = { ...run(k2, 'b', 0, 30, 0, 29), file: { rows: 30, bytes: 3000 } };
    const a2 = { ...run(k2, 'a', 0, 5, 20, 24), rowStart: undefined, file: undefined, key: legacy.key };
    const m: Manifest = { ...emptyManifest(), version: 2, writers: { w: 9 }, segments: [a2, a1, c1, b2] };
    const json = JSON.parse(encodeManifest(m));
    expect(json.version).toBe(2);
    expect(json.segments).toEqual([JSON.parse(JSON.stringify(a2))]);
    expect(json.files.map((f: { key: string }) => f.key)).toEqual([k1, k2]);
    expect(json.files[0].runs.variable).toEqual(['a', 'c']);
    expect(json.files[0].runs.start).toEqual([0, 20]);
    expect(json.files[0].runs.min).toEqual([10, 0]);
    // A file whose runs all remain lists no starts: they follow from the row counts.
    expect(json.files[1].runs.start).toBeUndefined();
    const back = decodeManifest(json);
    // Runs keep no last point in the manifest (their file's footer has it); one-variable files do.
    const bare = (e: SegmentEntry) => {
      const { last: _, ...rest } = e;
      return rest;
    };
    expect(json.files[0].runs.last).toBeUndefined();
    expect(back.segments).toEqual([JSON.parse(JSON.stringify(a2)), bare(a1), bare(c1), bare(b2)]);
    expect(encodeManifest(back)).toBe(encodeManifest(m));
  });

  it('refuses a broken version 2 body with E050 naming the manifest, and a writer opening the store changes nothing', async () => {
    const base = {
      version: 2,
      compactedSeq: 0,
      updatedAt: '',
      segments: [],
      files: [
        {
          key: 'segments/window=2024-01-01T000000/one.parquet',
          window: W,
          rows: 20,
          bytes: 100,
          runs: { variable: ['a', 'b'], start: [0, 10], rows: [10, 10], min: [0, 0], max: [9, 9] },
        },
      ],
    };
    type Body = typeof base & { files: (typeof base.files)[number][] };
    const broken: [string, (m: Body) => void, RegExp][] = [
      ['an unknown version', (m) => Object.assign(m, { version: 3 }), /unknown manifest version/],
      ['no files list', (m) => Object.assign(m, { files: undefined }), /version 2 without files/],
      [
        'a key outside segments/',
        (m) => Object.assign(m.files[0] as object, { key: '../x.parquet' }),
        /not a segment key/,
      ],
      [
        'runs overlapping',
        (m) => Object.assign((m.files[0] as Body['files'][0]).runs, { start: [0, 5] }),
        /overlaps/,
      ],
      [
        'a run past the end',
        (m) => Object.assign((m.files[0] as Body['files'][0]).runs, { rows: [10, 11] }),
        /outside its file/,
      ],
      [
        'lists of unequal length',
        (m) => Object.assign((m.files[0] as Body['files'][0]).runs, { min: [0] }),
        /runs\.min is not a list of 2/,
      ],
      [
        'a fractional row',
        (m) => Object.assign((m.files[0] as Body['files'][0]).runs, { rows: [1.5, 10] }),
        /runs\.rows/,
      ],
    ];
    for (const [what, breakIt, message] of broken) {
      const body = structuredClone(base) as Body;
      breakIt(body);
      const storage = createMemoryStorage();
      await storage.put(MANIFEST_KEY, JSON.stringify(body));
      const error = await readManifest(storage).catch((e: unknown) => e);
      expect(error, what).toMatchObject({ code: 'E050' });
      expect((error as Error).message, what).toMatch(
        new RegExp(`manifest\\.json is unreadable: .*${message.source}`),
      );
    }

    const dir = path.join(tempDir('ts-bad-manifest'), 'store');
    const store = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
    await store.storeDataPoint('a', W / 1000, 1);
    await store.compact();
    await store.close();
    const body = JSON.parse(readFileSync(path.join(dir, MANIFEST_KEY), 'utf8'));
    body.version = 2;
    body.files = [{ ...base.files[0], runs: { ...base.files[0]?.runs, start: [0, 5] } }];
    writeFileSync(path.join(dir, MANIFEST_KEY), JSON.stringify(body));
    const before = readFileSync(path.join(dir, MANIFEST_KEY));
    const files = readdirSync(path.join(dir, 'segments'), { recursive: true });
    await expect(TimeSeriesStore.open(dir, { compactIntervalMs: 0 })).rejects.toMatchObject({ code: 'E050' });
    expect(readFileSync(path.join(dir, MANIFEST_KEY))).toEqual(before);
    expect(readdirSync(path.join(dir, 'segments'), { recursive: true })).toEqual(files);
  });
});
