import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { csvReader, parquetReader } from '../../src/formats/index.ts';
import {
  fetchAndSave,
  findLatestFile,
  flushIngestLineage,
  IncrementalWriter,
  saveApiResponse,
  saveDataPointIncremental,
  saveProcessedData,
  saveRequestMetadata,
  saveToFile,
} from '../../src/ingest/index.ts';
import { createLogger, getLogger, setLogger } from '../../src/logging/logger.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function everyByte(storage: Storage): Promise<string> {
  const parts: string[] = [];
  for await (const e of storage.list({ recursive: true })) {
    if (e.type === 'object') parts.push(e.key, (await storage.get(e.key)).toString('latin1'));
  }
  return parts.join('\n');
}

const logLines: string[] = [];
const previous = getLogger();
beforeAll(() => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  setLogger(createLogger({ level: 'trace', destination: sink }));
});
afterAll(() => setLogger(previous));

const backends: [string, () => Promise<Storage>][] = [
  ['fs', async () => createFsStorage({ root: tempDir('secrets') })],
  ['s3', async () => openStorage((await freshBucket('secrets')).url('b/'), s3Options())],
];

describe.each(backends)('secrets on %s', (_kind, make) => {
  it('a secret planted in nested params, a header and a URL query reaches no stored byte and no log line', async () => {
    const storage = await make();
    const S = ['NESTEDSECRET1', 'HEADERSECRET2', 'QUERYSECRET3', 'COOKIESECRET4'];
    const url = `https://api.example.com/v2/data?city=Oslo&access_token=${S[2]}`;
    const params = { city: 'Oslo', auth: { Client_Secret: S[0], nested: [{ apiKey: S[0] }] }, next: url };
    const headers = new Headers({ Authorization: `Bearer ${S[1]}`, 'X-Api-Key': S[1] });
    await saveRequestMetadata('weather', params, {
      storage,
      sourceName: 'met',
      additionalMetadata: { headers: Object.fromEntries(headers), url },
    });
    await saveApiResponse(
      'weather',
      { temp: 3 },
      { storage, sourceName: 'met', statusCode: 200, url, headers: { 'set-cookie': `s=${S[3]}` } },
    );
    await saveApiResponse('weather', [{ temp: 3 }], {
      storage,
      sourceName: 'met',
      statusCode: 200,
      url,
      headers,
      fileFormat: 'csv',
    });
    await saveProcessedData('weather', [{ temp: 3 }], {
      storage,
      sourceName: 'met',
      metadata: { request: params, url },
    });
    await saveDataPointIncremental('weather', 0, 3, {
      storage,
      sourceName: 'met',
      metadata: { url, token: S[1] },
    });
    getLogger().info({ params, headers, url }, `fetched ${url}`);
    const stored = await everyByte(storage);
    const logs = logLines.join('');
    expect(logs).toContain('fetched https://api.example.com/v2/data?city=Oslo&access_token=********');
    for (const secret of S) {
      expect(stored).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    await storage.close();
  });
});

describe('fetchAndSave', () => {
  it('saves a JSON array body as parquet and a CSV body as csv', async () => {
    const server = await startHttpServer([
      {
        status: 200,
        body: [
          { id: 1, v: 'a' },
          { id: 2, v: 'b' },
        ],
      },
      { status: 200, body: 'id,v\n1,"x,y"\n', headers: { 'content-type': 'text/csv' } },
    ]);
    try {
      const storage = createFsStorage({ root: tempDir('fetch') });
      // Its saves' lineage commits ride with a timer: stored before the temp folder goes.
      onTestFinished(() => flushIngestLineage(storage));
      const pq = await fetchAndSave(`${server.url}/a`, {
        storage,
        sourceName: 's',
        datasetId: 'd',
        fileFormat: 'parquet',
      });
      expect(pq).toMatchObject({ status: 200, ok: true, attempts: 1 });
      expect(await collect(parquetReader.read(storage, pq.response.key))).toEqual([
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
      ]);
      expect(JSON.parse((await storage.get(`${pq.response.key}.meta.json`)).toString())).toMatchObject({
        status_code: 200,
      });
      const c = await fetchAndSave(`${server.url}/b`, {
        storage,
        sourceName: 's',
        datasetId: 'd',
        fileFormat: 'csv',
      });
      expect(await collect(csvReader.read(storage, c.response.key))).toEqual([{ id: '1', v: 'x,y' }]);
      expect((await findLatestFile('d', { storage, sourceName: 's', fileFormat: 'csv' }))?.key).toBe(
        c.response.key,
      );
    } finally {
      await server.close();
    }
  });

  it('keeps big integers of a JSON body exactly; a body that says JSON but is not is saved as its text, with a warning naming the URL and the break', async () => {
    const big = '{"id": 12345678901234567891, "n": -9007199254740993, "x": 0.5}';
    const broken = '{"id": 1, "rows": [1, 2,],}';
    const server = await startHttpServer([
      { status: 200, body: big, headers: { 'content-type': 'application/json' } },
      { status: 200, body: broken, headers: { 'content-type': 'application/json; charset=utf-8' } },
    ]);
    try {
      const storage = createFsStorage({ root: tempDir('fetch-exact') });
      // Its saves' lineage commits ride with a timer: stored before the temp folder goes.
      onTestFinished(() => flushIngestLineage(storage));
      const exact = await fetchAndSave(`${server.url}/big?api_key=BODYSECRET9`, {
        storage,
        sourceName: 's',
        datasetId: 'd',
      });
      const savedBig = (await storage.get(exact.response.key)).toString();
      // JSON.parse would have written 12345678901234567000 and -9007199254740992.
      expect(savedBig).toContain('"id": 12345678901234567891');
      expect(savedBig).toContain('"n": -9007199254740993');
      const before = logLines.length;
      const bad = await fetchAndSave(`${server.url}/broken?api_key=BODYSECRET9`, {
        storage,
        sourceName: 's',
        datasetId: 'd2',
      });
      const saved = JSON.parse((await storage.get(bad.response.key)).toString()) as { data: unknown };
      expect(saved.data).toBe(broken);
      const warning = logLines.slice(before).find((l) => l.includes('response says it is JSON but is not'));
      expect(warning, logLines.slice(before).join('')).toBeDefined();
      expect(warning).toContain('/broken');
      expect(warning).toMatch(/trailing comma/);
      expect(logLines.join('')).not.toContain('BODYSECRET9');
    } finally {
      await server.close();
    }
  });

  it('rejects non-http URLs and reports refused connections as E007 after retrying', async () => {
    const storage = createFsStorage({ root: tempDir('fetch-bad') });
    // Its saves' lineage commits ride with a timer: stored before the temp folder goes.
    onTestFinished(() => flushIngestLineage(storage));
    await expect(
      fetchAndSave('file:///etc/passwd', { storage, sourceName: 's', datasetId: 'd' }),
    ).rejects.toMatchObject({
      code: 'E020',
    });
    await expect(
      fetchAndSave('not a url?token=SECRETX', { storage, sourceName: 's', datasetId: 'd' }),
    ).rejects.toThrow(/token=\*{8}/);
    const server = await startHttpServer([{ status: 200 }]);
    const url = server.url;
    await server.close();
    await expect(
      fetchAndSave(url, { storage, sourceName: 's', datasetId: 'd', retries: 1, retryDelayMs: 5 }),
    ).rejects.toMatchObject({ code: 'E007' });
    expect(await collect(storage.list())).toEqual([]);
  });
});

describe('several processes on S3', () => {
  it('saves from concurrent writers never collide (random suffix where create is not atomic)', async () => {
    const bucket = await freshBucket('race-s3');
    const storage = openStorage(bucket.url('r/'), s3Options());
    const at = new Date('2025-01-01T00:00:00Z');
    // Two independent storages stand in for two processes: no shared in-process state.
    const other = openStorage(bucket.url('r/'), s3Options());
    const saves = Array.from({ length: 40 }, (_, i) =>
      saveToFile('same', { i }, { storage: i % 2 ? storage : other, timestamp: at }),
    );
    const keys = (await Promise.all(saves)).map((s) => s.key);
    expect(new Set(keys).size).toBe(40);
    const writer = await IncrementalWriter.open({ storage, datasetId: 'pts', batchSize: 10 });
    await Promise.all(Array.from({ length: 35 }, (_, i) => writer.write({ timestamp: i, value: i })));
    await writer.close();
    expect(writer.stats.batches).toBeGreaterThanOrEqual(1);
    await storage.close();
    await other.close();
  });
});
