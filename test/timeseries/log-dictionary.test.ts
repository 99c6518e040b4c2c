/**
 * Log records of version 4 name variables and metadata by the numbers of their log file's
 * dictionary (codec.ts). A log of version 3 records (fixtures/v3-log: written by the writer of
 * commit 3b992e9, before the change, through storeDataPoints and storeDataPoint, with the points
 * a reader of it returned beside it) replays and takes new appends; a torn
 * record, whichever names it introduced, leaves every record before it readable; a file begun by
 * rotation names its variables again.
 */
import { cpSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type DataPointInput, type StoredPoint, TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { snapshot } from './helpers.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'v3-log');
const T0 = Date.UTC(2024, 0, 1);
const options = { compactIntervalMs: 0, compactPoints: 0, compactBytes: 0 } as const;

const logFiles = (dir: string) =>
  readdirSync(path.join(dir, 'wal'))
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => path.join(dir, 'wal', f));

/** The version byte of each record of a log file. */
function versions(file: string): number[] {
  const buf = readFileSync(file);
  const out: number[] = [];
  for (let o = 0; o + 8 <= buf.length; ) {
    const size = buf.readUInt32LE(o);
    if (size === 0) break;
    out.push(buf.readUInt8(o + 8));
    o += 8 + size;
  }
  return out;
}

/** Points of `vars` variables at second `t`, each with its own metadata. */
function batch(vars: string[], t: number): DataPointInput[] {
  return vars.map((v, i) => ({
    variable: v,
    timestamp: T0 + t * 1000,
    value: t * 100 + i,
    metadata: { source: `sensor-${v}`, t: t % 2 === 0 ? 'even' : 'odd' },
  }));
}

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `var_${from + i}`);

describe('log records with a dictionary per log file', () => {
  it('replays a version 3 log written before the change, and appends to the store in version 4', async () => {
    const dir = path.join(tempDir('ts-v3-log'), 'store');
    cpSync(path.join(FIXTURE, 'wal'), path.join(dir, 'wal'), { recursive: true });
    const expected = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Record<
      string,
      StoredPoint[]
    >;
    const [old] = logFiles(dir);
    expect(versions(old as string).every((v) => v === 3)).toBe(true);

    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    expect(await snapshot(reader)).toEqual(expected);
    await reader.close();

    const writer = await TimeSeriesStore.open(dir, options);
    expect(await snapshot(writer)).toEqual(expected);
    await writer.storeDataPoints([
      { variable: 'temp', timestamp: T0 + 9000, value: 23, metadata: { unit: 'C' } },
      { variable: 'new', timestamp: T0 + 9000, value: 'x' },
    ]);
    await writer.storeDataPoint('temp', T0 + 10_000, 24, { unit: 'C' });
    await writer.close();

    const files = logFiles(dir);
    expect(files).toHaveLength(2);
    expect(versions(files[1] as string)).toEqual([4, 4]);
    const again = await TimeSeriesStore.open(dir, options);
    try {
      const all = await snapshot(again);
      expect(all.temp?.map((p) => p.value)).toEqual([...(expected.temp ?? []).map((p) => p.value), 23, 24]);
      expect(all.temp?.at(-1)?.metadata).toEqual({ unit: 'C' });
      expect(all.new?.map((p) => p.value)).toEqual(['x']);
      expect({ ...all, temp: undefined, new: undefined }).toEqual({
        ...expected,
        temp: undefined,
        new: undefined,
      });
    } finally {
      await again.close();
    }
  });

  it('a torn record leaves every record before it readable, whichever names it introduced', async () => {
    const dir = path.join(tempDir('ts-dict-torn'), 'store');
    const writer = await TimeSeriesStore.open(dir, options);
    await writer.storeDataPoints(batch(names(0, 100), 1));
    await writer.storeDataPoints(batch(names(50, 150), 2)); // 50 names new, 50 known
    const before = await snapshot(writer);
    // The last record brings 100 names and texts no record before it used.
    await writer.storeDataPoints(batch(names(100, 250), 3));
    await writer.close();
    const [file] = logFiles(dir);
    const size = readFileSync(file as string).length;

    for (const cut of [size - 1, size - 2000, size - 4000]) {
      const copy = path.join(tempDir('ts-dict-torn-copy'), 'store');
      cpSync(dir, copy, { recursive: true });
      truncateSync(logFiles(copy)[0] as string, cut);
      const reopened = await TimeSeriesStore.open(copy, options);
      try {
        expect(await snapshot(reopened)).toEqual(before);
        // Names of the torn record come back in the next one, and replay finds them.
        await reopened.storeDataPoints(batch(names(140, 260), 4));
        await reopened.storeDataPoint('var_255', T0 + 5000, 5, { source: 'sensor-var_255', t: 'odd' });
      } finally {
        await reopened.close();
      }
      const last = await TimeSeriesStore.open(copy, { readOnly: true });
      try {
        const all = await snapshot(last);
        expect(all.var_0).toEqual(before.var_0);
        expect(all.var_140?.map((p) => p.value)).toEqual([290, 400]);
        expect(all.var_255?.map((p) => p.value)).toEqual([515, 5]);
        expect(all.var_255?.[0]?.metadata).toEqual({ source: 'sensor-var_255', t: 'even' });
        expect(Object.keys(all)).toHaveLength(260);
      } finally {
        await last.close();
      }
    }
  });

  it('a torn tail of garbage past whole records is cut off, and the records before it replay', async () => {
    const dir = path.join(tempDir('ts-dict-garbage'), 'store');
    const writer = await TimeSeriesStore.open(dir, options);
    await writer.storeDataPoints(batch(names(0, 20), 1));
    await writer.storeDataPoints(batch(names(10, 30), 2));
    const before = await snapshot(writer);
    await writer.close();
    const file = logFiles(dir)[0] as string;
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from([200, 1, 0, 0, 7, 7, 7, 7, 4, 9])]));
    const again = await TimeSeriesStore.open(dir, options);
    try {
      expect(await snapshot(again)).toEqual(before);
    } finally {
      await again.close();
    }
  });

  it('a whole record of a newer version is refused with E050 naming the file and byte, never cut off as torn', async () => {
    const dir = path.join(tempDir('ts-dict-newer'), 'store');
    const writer = await TimeSeriesStore.open(dir, options);
    await writer.storeDataPoints(batch(names(0, 20), 1));
    await writer.close();
    const file = logFiles(dir)[0] as string;
    const whole = readFileSync(file).length;
    // What a later sluice might write: version 5, zero points, length and CRC right.
    const payload = Buffer.alloc(32);
    payload.writeUInt8(5, 0);
    const header = Buffer.alloc(8);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    writeFileSync(file, Buffer.concat([readFileSync(file), header, payload]));
    const before = readFileSync(file);
    for (const readOnly of [false, true]) {
      const error = (await TimeSeriesStore.open(dir, { ...options, readOnly }).catch(
        (e: unknown) => e,
      )) as Error & {
        code?: string;
      };
      expect(error.code, String(error)).toBe('E050');
      expect(error.message).toContain(`${file}: the record at byte ${whole} is whole but cannot be read`);
      expect(error.message).toContain('unknown record version 5');
      expect(readFileSync(file)).toEqual(before); // nothing truncated
    }
  });

  it('each log file names its variables again: a store of many rotated files replays whole', async () => {
    const dir = path.join(tempDir('ts-dict-rotate'), 'store');
    const writer = await TimeSeriesStore.open(dir, { ...options, walSegmentBytes: 20_000 });
    for (let t = 0; t < 12; t++) await writer.storeDataPoints(batch(names(0, 200), t));
    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    try {
      const before = await snapshot(writer);
      expect(logFiles(dir).length).toBeGreaterThan(3);
      expect(await snapshot(reader)).toEqual(before);
      await writer.close();
      const again = await TimeSeriesStore.open(dir, options);
      expect(await snapshot(again)).toEqual(before);
      expect(before.var_199?.map((p) => p.value)).toEqual(
        Array.from({ length: 12 }, (_, t) => t * 100 + 199),
      );
      await again.close();
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
