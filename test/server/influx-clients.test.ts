/**
 * The clients people already run, unchanged: the official `@influxdata/influxdb-client` (v2
 * write API, gzip for larger batches) and Debian's `influx` 1.x CLI (v1 `/write`, Basic auth),
 * each writing to a real socket; what they wrote is read back with `sluice ts query`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { HttpError, InfluxDB, Point, setLogger } from '@influxdata/influxdb-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { TOKENS, testSocketServer } from './helpers.ts';

// The client logs refused writes to the console; the tests check the errors themselves.
setLogger({ error: () => {}, warn: () => {} });

let server: Awaited<ReturnType<typeof testSocketServer>>;
beforeAll(async () => {
  server = await testSocketServer();
});
afterAll(() => server.stop());

async function tsQuery(
  store: string,
  variable: string,
): Promise<{ timestamp: string; value: unknown; metadata: unknown }[]> {
  const res = await runSluice(['ts', 'query', path.join(server.root, store), variable, '--format', 'json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
}

describe('@influxdata/influxdb-client', () => {
  it('writes points (gzip batches included) that sluice ts query reads back', async () => {
    const client = new InfluxDB({ url: server.url, token: TOKENS.write });
    const api = client.getWriteApi('any-org', 'official', 'ns', {
      batchSize: 5000,
      gzipThreshold: 1000,
      maxRetries: 0,
    });
    api.useDefaultTags({ site: 'lab' });
    const t0 = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 5000; i++) {
      api.writePoint(
        new Point('boiler')
          .tag('unit', `u${i % 3}`)
          .floatField('temp', 20 + i / 100)
          .intField('rpm', i)
          .booleanField('on', i % 2 === 0)
          .stringField('note', i === 0 ? 'first "quoted", with\\backslash' : 'ok')
          .timestamp(new Date(t0 + i * 1000)),
      );
    }
    await api.close(); // flushes; throws if any batch was refused
    const temps = await tsQuery('official', 'boiler.temp');
    expect(temps).toHaveLength(5000);
    expect(temps[0]).toEqual({
      timestamp: '2024-01-01T00:00:00.000000Z',
      value: 20,
      metadata: { site: 'lab', unit: 'u0' },
    });
    expect((await tsQuery('official', 'boiler.rpm')).at(-1)?.value).toBe(4999);
    expect((await tsQuery('official', 'boiler.on'))[1]?.value).toBe(false);
    expect((await tsQuery('official', 'boiler.note'))[0]?.value).toBe('first "quoted", with\\backslash');
  });

  it('gets our 400 naming the line as an HttpError, and nothing of the batch is stored', async () => {
    const api = new InfluxDB({ url: server.url, token: TOKENS.write }).getWriteApi('o', 'official-bad', 's', {
      maxRetries: 0,
    });
    api.writeRecords(['m v=1 1', 'm v=nope 2']);
    const error = await api.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpError);
    expect((error as InstanceType<typeof HttpError>).statusCode).toBe(400);
    expect((error as InstanceType<typeof HttpError>).body).toMatch(/line 2: unable to parse/);
    const read = await runSluice(['ts', 'query', path.join(server.root, 'official-bad'), 'm.v']);
    expect(read.code).toBe(1); // no such store: nothing was created
  });

  it('gets 401 with a token that is not ours', async () => {
    const api = new InfluxDB({ url: server.url, token: 'wrong-token-0123456789' }).getWriteApi(
      'o',
      'official',
      'ns',
      { maxRetries: 0 },
    );
    api.writeRecord('m v=1');
    const error = await api.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as InstanceType<typeof HttpError>).statusCode).toBe(401);
  });
});

/** Runs the influx CLI without blocking this process, which serves the requests it sends. */
function runInflux(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('influx', args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("Debian's influx 1.x CLI", () => {
  const influx = (args: string[], password: string = TOKENS.write) =>
    runInflux([
      '-host',
      '127.0.0.1',
      '-port',
      String(server.port),
      '-username',
      'ops',
      '-password',
      password,
      ...args,
    ]);

  it('is installed (apt-get install -y influxdb-client)', () => {
    const version = spawnSync('influx', ['-version'], { encoding: 'utf8' });
    expect(version.error, 'the influx CLI is missing: apt-get install -y influxdb-client').toBeUndefined();
    expect(version.stdout).toMatch(/InfluxDB shell version: 1\./);
  });

  it('INSERT and -import write through /write, read back by sluice ts query', async () => {
    const insert = await influx([
      '-database',
      'cli',
      '-precision',
      's',
      '-execute',
      'INSERT cpu,host=web1 usage=42.5 1700000000',
    ]);
    expect(insert.status, insert.stderr).toBe(0);
    expect(await tsQuery('cli', 'cpu.usage')).toEqual([
      { timestamp: '2023-11-14T22:13:20.000000Z', value: 42.5, metadata: { host: 'web1' } },
    ]);
    const file = path.join(tempDir('sluice-influx-import'), 'import.txt');
    const lines = Array.from({ length: 1000 }, (_, i) => `mem,host=web1 used=${i}i ${1_700_000_000 + i}`);
    writeFileSync(file, `# DML\n# CONTEXT-DATABASE: cli\n\n${lines.join('\n')}\n`);
    const imported = await influx(['-import', '-path', file, '-precision', 's']);
    expect(`${imported.stdout}${imported.stderr}`).toMatch(/Processed 1000 inserts/);
    expect(`${imported.stdout}${imported.stderr}`).toMatch(/Failed 0 inserts/);
    const used = await tsQuery('cli', 'mem.used');
    expect(used.map((p) => p.value)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('shows our error for a bad line, and a wrong password is refused', async () => {
    const bad = await influx(['-database', 'cli', '-execute', 'INSERT cpu usage=']);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/unable to parse 'cpu usage='/);
    const wrong = await influx(
      ['-database', 'cli', '-execute', 'INSERT cpu usage=1'],
      'not-the-token-123456',
    );
    expect(`${wrong.stdout}${wrong.stderr}`).toMatch(/token is not valid/);
  });
});
