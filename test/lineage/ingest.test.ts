/**
 * Lineage of API ingestion (#19): every file an ingest call writes — raw responses, their
 * `.meta.json`, request metadata, processed data, appended JSONL batches — has an intent before it
 * is visible and a commit after; fetched responses name the HTTP call (URL masked); metadata and
 * processed files name the raw response; a failed write leaves an abort and no commit.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.ts';
import {
  fetchAndSave,
  flushIngestLineage,
  IncrementalWriter,
  saveApiResponse,
  saveProcessedData,
  saveToFile,
} from '../../src/ingest/index.ts';
import { LineageLog, lineageOf, readLineage, verifyLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { createMemoryStorage } from '../../src/storage/drivers/memory/memory-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { runSluice } from '../helpers/cli.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const TOKEN = 'TOKENc0ffee5ecret42';
const BODY = { city: 'Oslo', temps: [{ t: 3 }, { t: 4 }] };

/** Every byte of every lineage log object under the storage. */
async function logBytes(storage: Storage): Promise<string> {
  const parts: string[] = [];
  for await (const e of storage.list({ prefix: '_sluice/lineage/', recursive: true }))
    if (e.type === 'object') parts.push((await storage.get(e.key)).toString('latin1'));
  return parts.join('');
}

/** The writes the log holds for a key: intent, commit and abort. */
async function writesOf(storage: Storage, key: string) {
  const index = await readLineage(storage);
  return index.byOutput.get(`${storage.url.replace(/\/?$/, '/')}${key}`) ?? [];
}

/** A storage whose puts of data keys (not the lineage log) fail when `failing(key)`. */
function failingPuts(inner: Storage, failing: (key: string) => boolean): Storage {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'put')
        return async (key: string, ...rest: unknown[]) => {
          if (!key.startsWith('_sluice/') && failing(key))
            throw new StorageError(`injected failure writing ${key}`, { context: { key } });
          return (target.put as (...a: unknown[]) => unknown)(key, ...rest);
        };
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

let server: TestHttpServer;
beforeAll(async () => {
  server = await startHttpServer([{ body: BODY }]);
});
afterAll(() => server.close());

describe('lineage of fetched responses', { timeout: 60_000 }, () => {
  const base = tempDir('lineage-ingest');
  const storage = createFsStorage({ root: base });
  const url = () => `${server.url}/v1/weather?city=Oslo&access_token=${TOKEN}`;

  it('records the response (with its HTTP call, URL masked) and the metadata (with the response)', async () => {
    const result = await fetchAndSave(url(), {
      storage,
      sourceName: 'met',
      datasetId: 'weather',
      retries: 0,
    });
    await flushIngestLineage(storage); // a save on a caller's storage defers its commits
    const [response] = await writesOf(storage, result.response.key);
    expect(response?.intent).toMatchObject({ operation: 'ingest.response' });
    const http = response?.intent.inputs[0];
    expect(http).toMatchObject({ kind: 'http', method: 'GET', status: 200 });
    // The body as the server sent it: what `responseSha256` proves was read.
    expect(http).toMatchObject({ responseSha256: sha(JSON.stringify(BODY)) });
    expect(http?.url).toContain('/v1/weather?city=Oslo&access_token=');
    expect(http?.url).not.toContain(TOKEN);
    const saved = readFileSync(result.response.path!);
    expect(response?.commit).toMatchObject({ sha256: sha(saved), size: saved.length });
    expect(result.response.sha256).toBe(sha(saved));

    const [metadata] = await writesOf(storage, result.metadata.key);
    expect(metadata?.intent).toMatchObject({
      operation: 'ingest.request',
      inputs: [{ kind: 'file', url: result.response.url, sha256: sha(saved), size: saved.length }],
    });
    expect(metadata?.commit?.sha256).toBe(sha(readFileSync(result.metadata.path!)));
    expect(await logBytes(storage)).not.toContain(TOKEN);
    expect((await verifyLineage(storage)).corrupt).toEqual([]);
  });

  it('csv: the response, its .meta.json (from the response) and rows; processed data traces to the HTTP call', async () => {
    const csvServer = await startHttpServer([
      { body: 'day,temp\n1,3\n2,4\n3,5\n', headers: { 'content-type': 'text/csv' } },
    ]);
    try {
      const result = await fetchAndSave(`${csvServer.url}/t.csv?apikey=${TOKEN}`, {
        storage,
        sourceName: 'met',
        datasetId: 'temps',
        fileFormat: 'csv',
        retries: 0,
      });
      await flushIngestLineage(storage);
      const [response] = await writesOf(storage, result.response.key);
      expect(response?.commit?.rows).toBe(3);
      const sidecarKey = `${result.response.key}.meta.json`;
      const [sidecar] = await writesOf(storage, sidecarKey);
      expect(sidecar?.intent).toMatchObject({
        operation: 'ingest.metadata',
        inputs: [{ kind: 'file', url: result.response.url, sha256: result.response.sha256 }],
      });
      expect(sidecar?.commit?.sha256).toBe(sha(readFileSync(`${result.response.path}.meta.json`)));

      const processed = await saveProcessedData('temps', [{ day: 1, temp: 3 }], {
        storage,
        sourceName: 'met',
        fileFormat: 'parquet',
        metadata: { step: 'daily' },
        derivedFrom: [result.response],
      });
      await flushIngestLineage(storage);
      const tree = await lineageOf(processed.path!);
      expect(tree).toMatchObject({ operation: 'ingest.processed', rows: 1, status: 'committed' });
      expect(tree.inputs?.[0]).toMatchObject({
        url: result.response.url,
        operation: 'ingest.response',
        inputs: [{ kind: 'http', operation: 'GET → 200' }],
      });
      expect(tree.inputs?.[0]?.inputs?.[0]?.url).not.toContain(TOKEN);
      // A key (as findLatestFile gives) works too: its bytes are read and hashed.
      const again = await saveToFile('temps_sum', { n: 3 }, { storage, derivedFrom: [result.response.key] });
      await flushIngestLineage(storage);
      const [sum] = await writesOf(storage, again.key);
      expect(sum?.intent.inputs[0]).toMatchObject({ kind: 'file', sha256: result.response.sha256 });
      expect(await logBytes(storage)).not.toContain(TOKEN);
    } finally {
      await csvServer.close();
    }
  });

  it('sluice fetch records; sluice lineage shows the HTTP call; verify catches one edited byte', async () => {
    const cliBase = tempDir('lineage-ingest-cli');
    const fetched = await runSluice(
      ['fetch', url(), '--source', 'met', '--dataset', 'weather', '--base', cliBase, '--json'],
      { env: { SLUICE_LINEAGE: '1' } },
    );
    expect(fetched.code, fetched.stderr).toBe(0);
    const { response, metadata } = JSON.parse(fetched.stdout) as { response: string; metadata: string };
    const shown = await runSluice(['lineage', response]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/weather_\d{8}T\d{9}Z\.json {2}ingest\.response {2}sha256 /);
    expect(shown.stdout).toMatch(
      /└─ http:\/\/127\.0\.0\.1:\d+\/v1\/weather\?city=Oslo&access_token=\S+ {2}GET → 200/,
    );
    const up = await runSluice(['lineage', metadata, '--json']);
    expect(JSON.parse(up.stdout)).toMatchObject({
      operation: 'ingest.request',
      inputs: [{ operation: 'ingest.response', inputs: [{ kind: 'http', operation: 'GET → 200' }] }],
    });
    expect(shown.stdout + up.stdout).not.toContain(TOKEN);
    expect((await runSluice(['lineage', 'verify', cliBase])).code).toBe(0);

    const bytes = readFileSync(response);
    bytes[10] = bytes[10] === 0x20 ? 0x21 : 0x20;
    writeFileSync(response, bytes);
    const verify = await runSluice(['lineage', 'verify', cliBase]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`changed      file://${response}`);
    expect(verify.stderr).toContain('E080');
  });
});

describe('lineage of failed and racing ingest writes', () => {
  it('a failed data write leaves an intent and an abort, no commit; verify calls it never-landed', async () => {
    const inner = createFsStorage({ root: tempDir('lineage-ingest-fail') });
    const storage = failingPuts(inner, (key) => key.startsWith('met/weather/'));
    const saving = saveApiResponse('weather', BODY, { storage, sourceName: 'met', statusCode: 200 });
    await expect(saving).rejects.toThrow(/injected failure writing met\/weather\/weather_\d{8}T\d{9}Z\.json/);
    const index = await readLineage(inner);
    expect(index.writes).toHaveLength(1);
    const [write] = index.writes;
    expect(write?.commit).toBeUndefined();
    expect(write?.aborted).toMatch(/^E\d{3}: injected failure writing met\/weather\//);
    const report = await verifyLineage(inner);
    expect(report.outputs.map((o) => o.status)).toEqual(['never-landed']);
    expect(report.corrupt).toEqual([]);
  });

  it('a failed .meta.json write: the data file is committed, its sidecar aborted', async () => {
    const inner = createFsStorage({ root: tempDir('lineage-ingest-sidecar') });
    const storage = failingPuts(inner, (key) => key.endsWith('.meta.json'));
    const saving = saveApiResponse('w', [{ a: 1 }], { storage, statusCode: 200, fileFormat: 'csv' });
    await expect(saving).rejects.toThrow(/injected failure writing default\/w\/w_.*\.csv\.meta\.json/);
    const { writes } = await readLineage(inner);
    expect(writes.map((w) => [w.intent.operation, Boolean(w.commit), Boolean(w.aborted)])).toEqual([
      ['ingest.response', true, false],
      ['ingest.metadata', false, true],
    ]);
  });

  it('a create that loses its name aborts that intent and records the next name', async () => {
    const root = tempDir('lineage-ingest-race');
    const storage = createFsStorage({ root });
    const at = new Date('2031-02-03T04:05:06.789Z');
    // Another writer took the name first (outside this process's memory of taken names).
    await storage.put('s/d/d_20310203T040506789Z.json', 'theirs\n');
    const saved = await saveToFile('d', { x: 1 }, { storage, sourceName: 's', timestamp: at });
    expect(saved.key).toBe('s/d/d_20310203T040506789Z-1.json');
    const { writes } = await readLineage(storage);
    expect(
      writes.map((w) => [w.intent.output.replace(/^.*\/s\/d\//, ''), w.aborted ? 'aborted' : 'committed']),
    ).toEqual([
      ['d_20310203T040506789Z.json', 'aborted'],
      ['d_20310203T040506789Z-1.json', 'committed'],
    ]);
    expect(readFileSync(path.join(root, 's/d/d_20310203T040506789Z.json'), 'utf8')).toBe('theirs\n');
    expect((await verifyLineage(storage)).corrupt).toEqual([]);
  });
});

describe('lineage log objects of many saves', () => {
  const logObjects = async (storage: Storage) => {
    let n = 0;
    for await (const e of storage.list({ prefix: '_sluice/lineage/', recursive: true }))
      if (e.type === 'object') n++;
    return n;
  };

  it('concurrent saves on one storage share log objects (group commit); each file has its commit', async () => {
    const storage = createFsStorage({ root: tempDir('lineage-ingest-group') });
    const saved = await Promise.all(
      Array.from({ length: 16 }, (_, i) => saveApiResponse('r', { i }, { storage, statusCode: 200 })),
    );
    await flushIngestLineage(storage);
    const objects = await logObjects(storage);
    expect(objects).toBeLessThan(2 * saved.length);
    const { byOutput } = await readLineage(storage);
    for (const file of saved) expect(byOutput.get(file.url)?.[0]?.commit?.sha256).toBe(file.sha256);
    expect((await verifyLineage(storage)).outputs.map((o) => o.status)).toEqual(saved.map(() => 'ok'));
  });

  it("a caller's LineageLog: commits ride with the next save's intent, the caller's flush stores the last", async () => {
    const storage = createFsStorage({ root: tempDir('lineage-ingest-shared') });
    const log = new LineageLog(storage);
    const saved = [];
    for (let i = 0; i < 5; i++) saved.push(await saveToFile('s', { i }, { storage, lineage: log }));
    expect(await logObjects(storage)).toBe(5);
    expect((await verifyLineage(storage)).outputs.at(-1)?.status).toBe('unconfirmed');
    await log.flush();
    expect(await logObjects(storage)).toBe(6);
    expect((await verifyLineage(storage)).outputs.map((o) => o.status)).toEqual(saved.map(() => 'ok'));
  });
});

describe('lineage of appended JSONL data points', () => {
  const point = (i: number) => ({ timestamp: 1_700_000_000_000 + i, value: i });

  it('each batch is a new version of the whole file; verify catches an edited byte in an early batch', async () => {
    const root = tempDir('lineage-ingest-append');
    const storage = createFsStorage({ root });
    const open = () => IncrementalWriter.open({ storage, datasetId: 'p', batchSize: 10, flushIntervalMs: 1 });
    let writer = await open();
    await writer.writeMany(Array.from({ length: 10 }, (_, i) => point(i)));
    await writer.writeMany(Array.from({ length: 10 }, (_, i) => point(10 + i)));
    await writer.close();
    writer = await open(); // a second session extends the version the first left
    await writer.write(point(20));
    await writer.close();
    const file = path.join(root, writer.key);
    const writes = await writesOf(storage, writer.key);
    const committed = writes.filter((w) => w.commit);
    expect(committed.map((w) => [w.intent.operation, w.commit?.rows])).toEqual([
      ['ingest.append', 10],
      ['ingest.append', 20],
      ['ingest.append', 21],
    ]);
    // The intent stored ahead for a batch that never came is aborted at close, never left open.
    expect(writes.filter((w) => !w.commit).every((w) => w.aborted?.includes('the writer closed'))).toBe(true);
    const bytes = readFileSync(file);
    expect(committed[2]?.commit).toMatchObject({ sha256: sha(bytes), size: bytes.length });
    expect((await verifyLineage(storage)).corrupt).toEqual([]);

    bytes[5] = bytes[5] === 0x31 ? 0x32 : 0x31; // inside the first batch
    writeFileSync(file, bytes);
    const report = await verifyLineage(storage);
    expect(report.corrupt.map((o) => [o.output, o.status])).toEqual([[`file://${file}`, 'changed']]);
  });

  it('on a storage without local files each batch segment is recorded; a failed segment is aborted', async () => {
    let fail = false;
    const inner = createMemoryStorage();
    const storage = failingPuts(inner, () => fail);
    const writer = await IncrementalWriter.open({
      storage,
      datasetId: 'p',
      batchSize: 5,
      flushIntervalMs: 1,
    });
    await writer.writeMany(Array.from({ length: 5 }, (_, i) => point(i)));
    fail = true;
    await expect(writer.writeMany([point(5)])).rejects.toThrow(/injected failure/);
    fail = false;
    await writer.close();
    const { writes } = await readLineage(inner);
    expect(writes.map((w) => [w.intent.operation, w.commit?.rows, Boolean(w.aborted)])).toEqual([
      ['ingest.append', 5, false],
      ['ingest.append', undefined, true],
    ]);
    const segment = writer.lastSegment!;
    expect(writes[0]?.commit?.sha256).toBe(sha(await inner.get(segment.key)));
    expect((await verifyLineage(inner)).corrupt).toEqual([]);
  });
});

describe('lineage turned off', () => {
  it('SLUICE_LINEAGE=0 and lineage: false write no record for any ingest path', async () => {
    const off = tempDir('lineage-ingest-off');
    const storage = createFsStorage({ root: off });
    const previous = process.env.SLUICE_LINEAGE;
    process.env.SLUICE_LINEAGE = '0';
    try {
      await fetchAndSave(`${server.url}/x?token=${TOKEN}`, {
        storage,
        sourceName: 's',
        datasetId: 'd',
        retries: 0,
      });
      await saveProcessedData('d', [{ a: 1 }], { storage, fileFormat: 'csv', metadata: { m: 1 } });
      const writer = await IncrementalWriter.open({ storage, datasetId: 'p' });
      await writer.write({ timestamp: 0, value: 1 });
      await writer.close();
    } finally {
      if (previous === undefined) delete process.env.SLUICE_LINEAGE;
      else process.env.SLUICE_LINEAGE = previous;
    }
    await saveToFile('d', { a: 1 }, { storage, lineage: false });
    expect(existsSync(path.join(off, '_sluice'))).toBe(false);

    const cliBase = tempDir('lineage-ingest-off-cli');
    const fetched = await runSluice(
      ['fetch', `${server.url}/y`, '--source', 's', '--dataset', 'd', '--base', cliBase],
      {
        env: { SLUICE_LINEAGE: '0' },
      },
    );
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(existsSync(path.join(cliBase, '_sluice'))).toBe(false);
  });
});
