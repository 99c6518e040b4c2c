import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { csvReader, parquetReader } from '../../src/formats/index.ts';
import {
  DEFAULT_BASE_DIR,
  ensureDataDirectory,
  findLatestFile,
  flushIngestLineage,
  listDatasets,
  listSavedFiles,
  maskSensitiveData,
  parseStampedName,
  saveApiResponse,
  saveProcessedData,
  saveRequestMetadata,
  saveToFile,
} from '../../src/ingest/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function readJson(storage: Storage, key: string): Promise<Record<string, unknown>> {
  return JSON.parse((await storage.get(key)).toString('utf8'));
}

/**
 * A storage the test owns, like a caller of the library: the lineage commits of its saves ride
 * with the next save or a timer, so each test flushes them before it ends — a timer that fired
 * after the file's temp folders were removed wrote them into a folder made again (CI failed on
 * the two folders it left).
 */
const owned = (storage: Storage): Storage => {
  onTestFinished(() => flushIngestLineage(storage));
  return storage;
};

const backends: [string, () => Promise<Storage>][] = [
  ['fs', async () => owned(createFsStorage({ root: tempDir('ingest') }))],
  ['s3', async () => owned(await openStorage((await freshBucket('ingest')).url('base/'), s3Options()))],
];

describe.each(backends)('seed usage examples on %s', (kind, make) => {
  it('runs the seed module docstring example', async () => {
    const storage = await make();
    // data_dir = ensure_data_directory("my_api_source")
    const dataDir = await ensureDataDirectory('my_api_source', { storage });
    if (kind === 'fs') expect((await fsp.stat(dataDir)).isDirectory()).toBe(true);
    else expect(dataDir).toMatch(/^s3:\/\/.+\/base\/my_api_source\/$/);

    // metadata_file = save_request_metadata("my_dataset", {"api_key": "secret", "param1": "value1"})
    const metadataFile = await saveRequestMetadata(
      'my_dataset',
      { api_key: 'secret', param1: 'value1' },
      { storage },
    );
    expect(metadataFile.key).toMatch(
      /^default\/my_dataset_request_metadata\/my_dataset_request_metadata_\d{8}T\d{9}Z(-\w+)?\.json$/,
    );
    const meta = await readJson(storage, metadataFile.key);
    expect(meta.request_params).toEqual({ api_key: '********', param1: 'value1' });
    expect(JSON.stringify(meta)).not.toContain('secret"');

    // response_file = save_to_file("my_dataset", response_data)
    const responseData = { results: [{ id: 1 }, { id: 2 }] };
    const responseFile = await saveToFile('my_dataset', responseData, { storage });
    expect(responseFile.key).toMatch(/^default\/my_dataset\/my_dataset_\d{8}T\d{9}Z(-\w+)?\.json$/);
    expect(await readJson(storage, responseFile.key)).toEqual(responseData);

    // processed_file = save_to_file("my_dataset_processed", processed_data, timestamp="2025-01-01T12:00:00")
    const processedFile = await saveToFile('my_dataset_processed', [{ a: 1 }], {
      storage,
      timestamp: '2025-01-01T12:00:00',
    });
    expect(path.posix.basename(processedFile.key)).toMatch(
      /^my_dataset_processed_20250101T120000000Z(-\w+)?\.json$/,
    );
    if (kind === 'fs') expect(processedFile.path).toBe(storage.localPath?.(processedFile.key));
    await storage.close();
  });

  it('saves csv (union header; object as key,value rows), jsonl, parquet and text fallback', async () => {
    const storage = await make();
    const rows = await saveToFile('tab', [{ a: 1 }, { b: 'x,"y"' }], { storage, fileFormat: 'csv' });
    expect((await storage.get(rows.key)).toString()).toBe('a,b\n1,""\n"","x,""y"""\n');
    const kv = await saveToFile('kv', { a: 1, b: 2 }, { storage, fileFormat: 'csv' });
    expect(await collect(csvReader.read(storage, kv.key))).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    const text = await saveToFile('txt', 'just text', { storage, fileFormat: 'csv' });
    expect((await storage.get(text.key)).toString()).toBe('just text');
    const jl = await saveToFile('jl', [{ a: 1 }, { a: 2 }], { storage, fileFormat: 'jsonl' });
    expect((await storage.get(jl.key)).toString()).toBe('{"a":1}\n{"a":2}\n');
    const pq = await saveToFile('pq', [{ a: 1, b: 'x' }], { storage, fileFormat: 'parquet' });
    expect(await collect(parquetReader.read(storage, pq.key))).toEqual([{ a: 1, b: 'x' }]);
    await expect(saveToFile('pq', 'text', { storage, fileFormat: 'parquet' })).rejects.toMatchObject({
      code: 'E021',
    });
    await expect(saveToFile('x', {}, { storage, fileFormat: 'xml' as never })).rejects.toMatchObject({
      code: 'E020',
    });
    await storage.close();
  });

  it('saves API responses with status and masked headers, and processed data keeping metadata', async () => {
    const storage = await make();
    const saved = await saveApiResponse(
      'resp',
      { items: [1] },
      {
        storage,
        sourceName: 'src',
        statusCode: 200,
        url: 'https://api.example.com/v1?api_key=PLANTED1&q=ok',
        headers: {
          'Content-Type': 'application/json',
          'Set-Cookie': 'sid=PLANTED2',
          'X-Api-Key': 'PLANTED3',
        },
      },
    );
    const body = await readJson(storage, saved.key);
    expect(body).toMatchObject({ status_code: 200, data: { items: [1] } });
    expect(body.url).toBe('https://api.example.com/v1?api_key=********&q=ok');
    expect(body.headers).toEqual({
      'Content-Type': 'application/json',
      'Set-Cookie': '********',
      'X-Api-Key': '********',
    });
    // Without status/headers/url the data is saved as is (the seed's behaviour).
    const plain = await saveApiResponse('resp', [1, 2], { storage, sourceName: 'src' });
    expect(await readJson(storage, plain.key)).toEqual([1, 2]);

    const list = await saveProcessedData('proc', [{ v: 1 }], {
      storage,
      metadata: { step: 'clean', token: 'PLANTED4' },
    });
    expect(list.key).toMatch(/^default\/proc_processed\/proc_processed_/);
    expect(await readJson(storage, list.key)).toEqual({
      data: [{ v: 1 }],
      _metadata: { step: 'clean', token: '********' },
    });
    const obj = await saveProcessedData('proc', { v: 1 }, { storage, metadata: { step: 'clean' } });
    expect(await readJson(storage, obj.key)).toEqual({ v: 1, _metadata: { step: 'clean' } });
    const csvSaved = await saveProcessedData('proc', [{ v: 1 }], {
      storage,
      metadata: { step: 'c' },
      fileFormat: 'csv',
    });
    expect(csvSaved.metadataFile?.key).toBe(`${csvSaved.key}.meta.json`);
    expect(await readJson(storage, csvSaved.metadataFile!.key)).toEqual({ _metadata: { step: 'c' } });
    const all = JSON.stringify(
      await Promise.all([saved.key, list.key].map((k) => storage.get(k).then(String))),
    );
    for (const secret of ['PLANTED1', 'PLANTED2', 'PLANTED3', 'PLANTED4']) expect(all).not.toContain(secret);
    await storage.close();
  });

  it('never overwrites: many saves in the same millisecond give distinct files', async () => {
    const storage = await make();
    const at = new Date('2025-06-01T00:00:00.000Z');
    const saved = await Promise.all(
      Array.from({ length: 20 }, (_, i) => saveToFile('same', { i }, { storage, timestamp: at })),
    );
    expect(new Set(saved.map((s) => s.key)).size).toBe(20);
    const contents = await Promise.all(saved.map((s) => readJson(storage, s.key)));
    expect(contents.map((c) => c.i).sort((a, b) => Number(a) - Number(b))).toEqual([...Array(20).keys()]);
    expect(await listSavedFiles('same', { storage })).toHaveLength(20);
    await storage.close();
  });

  it('findLatestFile orders by the stamp in the name, not mtime, with a tie rule, and creates nothing', async () => {
    const storage = await make();
    expect(await findLatestFile('none', { storage, sourceName: 'nowhere' })).toBeUndefined();
    expect(await collect(storage.list({ prefix: 'nowhere/' }))).toEqual([]);
    // Newest stamp written first, so mtime order is the opposite of stamp order.
    const newest = await saveToFile('ds', { n: 3 }, { storage, timestamp: '2025-03-01T00:00:00Z' });
    await saveToFile('ds', { n: 1 }, { storage, timestamp: '2025-01-01T00:00:00Z' });
    await saveToFile('ds', { n: 2 }, { storage, timestamp: '2025-02-01T00:00:00Z' });
    await saveToFile('ds', [{ n: 9 }], { storage, timestamp: '2026-01-01T00:00:00Z', fileFormat: 'csv' });
    const latest = await findLatestFile('ds', { storage });
    expect(latest?.key).toBe(newest.key);
    expect(latest?.timestamp.toISOString()).toBe('2025-03-01T00:00:00.000Z');
    expect((await findLatestFile('ds', { storage, fileFormat: 'csv' }))?.key).toMatch(/20260101T000000000Z/);
    // Same millisecond: the later save wins on disk (sequence suffix); on S3 the name order decides.
    const a = await saveToFile('tie', { n: 1 }, { storage, timestamp: '2025-01-01T00:00:00Z' });
    const b = await saveToFile('tie', { n: 2 }, { storage, timestamp: '2025-01-01T00:00:00Z' });
    const tieLatest = await findLatestFile('tie', { storage });
    if (storage.capabilities.atomicCreate) expect(tieLatest?.key).toBe(b.key);
    else expect(tieLatest?.key).toBe([a.key, b.key].sort().at(-1));
    const summary = await listDatasets({ storage });
    expect(summary.find((s) => s.dataset === 'ds')).toMatchObject({ source: 'default', files: 4 });
    await storage.close();
  });

  it('rejects unsafe ids with InvalidKeyError before touching storage', async () => {
    const storage = await make();
    for (const bad of ['../etc', '/abs', 'a/../b', 'nul\0x', 'back\\slash', '..', '', 'a\nb']) {
      await expect(saveToFile(bad, {}, { storage })).rejects.toMatchObject({ code: 'E010' });
      await expect(saveToFile('ok', {}, { storage, sourceName: bad })).rejects.toMatchObject({
        code: 'E010',
      });
      await expect(findLatestFile(bad, { storage })).rejects.toMatchObject({ code: 'E010' });
    }
    // The documented mapping: '/' becomes '_'.
    const mapped = await saveToFile('weather/daily', {}, { storage });
    expect(mapped.key).toMatch(/^default\/weather_daily\/weather_daily_/);
    expect(parseStampedName(path.posix.basename(mapped.key))?.dataset).toBe('weather_daily');
    await storage.close();
  });
});

describe('defaults', () => {
  it('uses data/api_ingestion under the working directory unless SLUICE_INGEST_BASE_DIR is set', async () => {
    expect(DEFAULT_BASE_DIR).toBe('data/api_ingestion');
    const dir = tempDir('ingest-env');
    const before = process.env.SLUICE_INGEST_BASE_DIR;
    process.env.SLUICE_INGEST_BASE_DIR = dir;
    try {
      const saved = await saveToFile('envds', { a: 1 });
      expect(saved.path?.startsWith(dir)).toBe(true);
    } finally {
      if (before === undefined) delete process.env.SLUICE_INGEST_BASE_DIR;
      else process.env.SLUICE_INGEST_BASE_DIR = before;
    }
    expect(maskSensitiveData({ Nested: { API_KEY: 'x' } })).toEqual({ Nested: { API_KEY: '********' } });
  });
});
