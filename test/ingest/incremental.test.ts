import * as fsp from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  dataPointLine,
  IncrementalWriter,
  readDataPoints,
  saveDataPointIncremental,
} from '../../src/ingest/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import fc from '../helpers/fc.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const backends: [string, () => Promise<Storage>][] = [
  ['fs', async () => createFsStorage({ root: tempDir('incr') })],
  ['s3', async () => openStorage((await freshBucket('incr')).url('b/'), s3Options())],
];

describe.each(backends)('incremental points on %s', (kind, make) => {
  it('saveDataPointIncremental appends to <source>/<dataset>/<variable>.jsonl (seed example)', async () => {
    const storage = await make();
    // save_data_point_incremental(dataset_id, timestamp, value, variable_name=...)
    const file = await saveDataPointIncremental('sensors', '2025-01-01T12:00:00', 21.5, {
      storage,
      sourceName: 'iot',
      variableName: 'temperature',
      metadata: { unit: 'C', api_key: 'PLANTED' },
    });
    await saveDataPointIncremental('sensors', new Date('2025-01-01T12:00:01Z'), 21.7, {
      storage,
      sourceName: 'iot',
      variableName: 'temperature',
    });
    if (kind === 'fs') expect(file.key).toBe('iot/sensors/temperature.jsonl');
    else
      expect(file.key).toMatch(
        /^iot\/sensors\/temperature\.segments\/temperature_\d{8}T\d{9}Z-r[0-9a-f]+\.jsonl$/,
      );
    const points = await collect(
      readDataPoints('sensors', { storage, sourceName: 'iot', variableName: 'temperature' }),
    );
    expect(points).toEqual([
      { timestamp: '2025-01-01T12:00:00.000Z', value: 21.5, metadata: { unit: 'C', api_key: '********' } },
      { timestamp: '2025-01-01T12:00:01.000Z', value: 21.7 },
    ]);
    if (kind === 'fs') {
      const text = await fsp.readFile(file.path!, 'utf8');
      expect(text.split('\n')).toHaveLength(3);
      expect(text).not.toContain('PLANTED');
    }
    await storage.close();
  });

  it('IncrementalWriter batches points and acknowledges each once its batch is stored', async () => {
    const storage = await make();
    const writer = await IncrementalWriter.open({
      storage,
      datasetId: 'many',
      batchSize: 250,
      flushIntervalMs: 5,
    });
    const acks = Array.from({ length: 1000 }, (_, i) =>
      writer.write({ timestamp: 1_700_000_000_000 + i, value: i }),
    );
    await Promise.all(acks);
    expect(writer.stats.points).toBe(1000);
    expect(writer.stats.batches).toBeLessThanOrEqual(8);
    await writer.writeMany([{ timestamp: 0, value: 'last' }]);
    await writer.close();
    await writer.close(); // idempotent
    const points = await collect(readDataPoints('many', { storage }));
    expect(points.map((p) => p.value)).toEqual([...Array.from({ length: 1000 }, (_, i) => i), 'last']);
    await expect(writer.write({ timestamp: 0, value: 1 })).rejects.toMatchObject({ code: 'E030' });
    await storage.close();
  });

  it('rejects invalid points without storing any of a writeMany batch', async () => {
    const storage = await make();
    const writer = await IncrementalWriter.open({ storage, datasetId: 'bad' });
    await expect(writer.write({ timestamp: 'not a date', value: 1 })).rejects.toMatchObject({ code: 'E020' });
    await expect(writer.write({ timestamp: 0, value: Number.NaN })).rejects.toThrow(/finite/);
    await expect(
      writer.writeMany([
        { timestamp: 0, value: 1 },
        { timestamp: 0, value: undefined },
      ]),
    ).rejects.toThrow(/point 1/);
    await writer.close();
    expect(await collect(readDataPoints('bad', { storage }))).toEqual([]);
    await expect(
      IncrementalWriter.open({ storage, datasetId: 'x', variableName: '../up' }),
    ).rejects.toMatchObject({
      code: 'E010',
    });
    await expect(IncrementalWriter.open({ storage, datasetId: 'x', batchSize: 0 })).rejects.toThrow(
      /batchSize/,
    );
    await storage.close();
  });
});

describe('incremental on fs', () => {
  it('applies backpressure beyond maxQueued and keeps points in order', async () => {
    const storage = createFsStorage({ root: tempDir('bp') });
    const writer = await IncrementalWriter.open({
      storage,
      datasetId: 'bp',
      batchSize: 5,
      maxQueued: 10,
      flushIntervalMs: 1,
    });
    const acks = Array.from({ length: 300 }, (_, i) => writer.write({ timestamp: i, value: i }));
    await writer.close();
    await Promise.all(acks);
    expect((await collect(readDataPoints('bp', { storage }))).map((p) => p.value)).toEqual([
      ...Array(300).keys(),
    ]);
    expect(writer.stats.batches).toBeGreaterThan(10);
  });

  it('skips a torn last line left by a crash and keeps appending on a fresh line', async () => {
    const root = tempDir('torn');
    const storage = createFsStorage({ root });
    const w1 = await IncrementalWriter.open({ storage, datasetId: 't' });
    await w1.write({ timestamp: 0, value: 1 });
    await w1.close();
    await fsp.appendFile(
      storage.localPath!('default/t/t.jsonl'),
      '{"timestamp":"1970-01-01T00:00:00.000Z","val\n',
    );
    const w2 = await IncrementalWriter.open({ storage, datasetId: 't' });
    await w2.write({ timestamp: 0, value: 2 });
    await w2.close();
    expect((await collect(readDataPoints('t', { storage }))).map((p) => p.value)).toEqual([1, 2]);
  });

  it('starts on a fresh line after a writer killed mid-line (no newline at the end of the file)', async () => {
    const storage = createFsStorage({ root: tempDir('torn') });
    const w1 = await IncrementalWriter.open({ storage, datasetId: 't' });
    await w1.write({ timestamp: 0, value: 1 });
    await w1.close();
    await fsp.appendFile(storage.localPath!('default/t/t.jsonl'), '{"timestamp":"1970-01-01T00:0');
    const w2 = await IncrementalWriter.open({ storage, datasetId: 't' });
    await w2.writeMany([
      { timestamp: 0, value: 2 },
      { timestamp: 0, value: 3 },
    ]);
    await w2.write({ timestamp: 0, value: 4 });
    await w2.close();
    expect((await collect(readDataPoints('t', { storage }))).map((p) => p.value)).toEqual([1, 2, 3, 4]);
  });
});

describe('dataPointLine', () => {
  it('writes the same timestamp as toISOString for any epoch ms or Date, and JSON for the record', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.jsonValue(), (ms, value) => {
        const line = dataPointLine({ timestamp: ms, value: value ?? null });
        const parsed = JSON.parse(line) as { timestamp: string; value: unknown };
        expect(line.endsWith('}\n')).toBe(true);
        expect(parsed.timestamp).toBe(new Date(ms).toISOString());
        expect(JSON.parse(dataPointLine({ timestamp: new Date(ms), value: 1 })).timestamp).toBe(
          new Date(ms).toISOString(),
        );
        expect(parsed.value).toEqual(JSON.parse(JSON.stringify(value ?? null)));
      }),
      { numRuns: 2000 },
    );
    expect(JSON.parse(dataPointLine({ timestamp: 1.5, value: 1 })).timestamp).toBe(
      '1970-01-01T00:00:00.001Z',
    );
  });
});
