import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/open.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET_QUERY = 'QUERYSECRET9f31';
const SECRET_HEADER = 'HEADERSECRET77ab';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'debug', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

async function allBytes(dir: string): Promise<string> {
  const files = await allFiles(dir);
  return (await Promise.all(files.map((f) => fsp.readFile(f, 'latin1')))).join('\n');
}

let server: TestHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('sluice fetch', () => {
  it('saves response and metadata with every secret masked in files, output and logs (exit 0)', async () => {
    server = await startHttpServer([
      {
        status: 200,
        body: { items: [{ id: 1 }] },
        headers: { 'set-cookie': 'sid=COOKIESECRET', 'x-request-id': 'r1' },
      },
    ]);
    const base = tempDir('cli-fetch');
    const url = `${server.url}/v1/items?api_key=${SECRET_QUERY}&page=1`;
    const r = await cli([
      'fetch',
      url,
      '--source',
      'api',
      '--dataset',
      'items',
      '--header',
      `Authorization: Bearer ${SECRET_HEADER}`,
      '--base',
      base,
    ]);
    expect(r.stderr).not.toContain('E0');
    expect(r.code).toBe(0);
    const [responsePath, metadataPath] = r.stdout.trim().split('\n');
    expect(responsePath).toMatch(/api\/items\/items_\d{8}T\d{9}Z\.json$/);
    expect(metadataPath).toMatch(/api\/items_request_metadata\/items_request_metadata_\d{8}T\d{9}Z\.json$/);
    const response = JSON.parse(await fsp.readFile(responsePath!, 'utf8'));
    expect(response).toMatchObject({ status_code: 200, data: { items: [{ id: 1 }] } });
    expect(response.headers['set-cookie']).toBe('********');
    expect(response.headers['x-request-id']).toBe('r1');
    const metadata = JSON.parse(await fsp.readFile(metadataPath!, 'utf8'));
    expect(metadata.request_params.headers.Authorization).toBe('********');
    expect(metadata.request_params.query).toEqual({ api_key: '********', page: '1' });
    // The server did receive the real secrets: masking happens only in what is stored and logged.
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET_HEADER}`);
    expect(r.stderr).toContain('"msg":"fetched"');
    const everything = `${await allBytes(base)}\n${r.stdout}\n${r.stderr}`;
    for (const secret of [SECRET_QUERY, SECRET_HEADER, 'COOKIESECRET'])
      expect(everything).not.toContain(secret);
  });

  it('retries a 500 and saves the 200 once', async () => {
    server = await startHttpServer([
      { status: 500, body: 'boom' },
      { status: 200, body: { ok: true } },
    ]);
    const base = tempDir('cli-retry');
    const r = await cli([
      'fetch',
      `${server.url}/x?token=${SECRET_QUERY}`,
      '--source',
      's',
      '--dataset',
      'd',
      '--base',
      base,
      '--retry-delay',
      '10ms',
    ]);
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(2);
    const responses = (await fsp.readdir(path.join(base, 's', 'd'))).filter((n) => !n.startsWith('.'));
    expect(responses).toHaveLength(1);
    const saved = JSON.parse(await fsp.readFile(path.join(base, 's', 'd', responses[0]!), 'utf8'));
    expect(saved).toMatchObject({ status_code: 200, data: { ok: true } });
    const meta = JSON.parse(await fsp.readFile(r.stdout.trim().split('\n')[1]!, 'utf8'));
    expect(meta.attempts).toBe(2);
    expect(r.stderr).toContain('retrying');
    expect(`${await allBytes(base)}${r.stderr}`).not.toContain(SECRET_QUERY);
  });

  it('saves and reports a 4xx without retrying it (exit 1, E031)', async () => {
    server = await startHttpServer([{ status: 404, body: { error: 'no such thing' } }]);
    const base = tempDir('cli-404');
    const r = await cli([
      'fetch',
      `${server.url}/missing?api_key=${SECRET_QUERY}`,
      '--source',
      's',
      '--dataset',
      'd',
      '--base',
      base,
      '--retry-delay',
      '10ms',
    ]);
    expect(r.code).toBe(1);
    expect(server.requests).toHaveLength(1);
    expect(r.stderr).toMatch(/E031: GET .* returned HTTP 404 \(not retried\)/);
    expect(r.stderr).not.toContain(SECRET_QUERY);
    const saved = JSON.parse(await fsp.readFile(r.stdout.trim().split('\n')[0]!, 'utf8'));
    expect(saved).toMatchObject({ status_code: 404, data: { error: 'no such thing' } });
  });

  it('retries timeouts, then fails with E008 and saves nothing', async () => {
    server = await startHttpServer([{ status: 200, body: { late: true }, delayMs: 2500 }]);
    const base = tempDir('cli-timeout');
    const r = await cli([
      'fetch',
      server.url,
      '--source',
      's',
      '--dataset',
      'd',
      '--base',
      base,
      '--timeout',
      '400ms',
      '--retries',
      '1',
      '--retry-delay',
      '10ms',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E008: GET .* timed out after 400 ms/);
    // Two attempts; under load the first may time out before the request reaches the server.
    expect(r.stderr.match(/retrying/g)).toHaveLength(1);
    expect(server.requests.length).toBeLessThanOrEqual(2);
    await expect(fsp.readdir(path.join(base, 's'))).rejects.toThrow();
  });

  it('rejects bad flags and ids with usage (exit 2) or typed errors', async () => {
    const base = tempDir('cli-bad');
    expect((await cli(['fetch', 'http://127.0.0.1:1/', '--dataset', 'd', '--base', base])).code).toBe(2);
    const badRetries = await cli([
      'fetch',
      'http://127.0.0.1:1/',
      '--source',
      's',
      '--dataset',
      'd',
      '--retries',
      'x',
      '--base',
      base,
    ]);
    expect(badRetries.code).toBe(2);
    expect(badRetries.stderr).toContain('--retries');
    const badId = await cli([
      'fetch',
      'http://127.0.0.1:1/',
      '--source',
      '../etc',
      '--dataset',
      'd',
      '--base',
      base,
    ]);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/E010: Invalid source name "\.\.\/etc"/);
    const badHeader = await cli([
      'fetch',
      'http://127.0.0.1:1/',
      '--source',
      's',
      '--dataset',
      'd',
      '--header',
      'nocolon',
      '--base',
      base,
    ]);
    expect(badHeader.code).toBe(2);
  });

  it('saves to S3 with --base s3://…', async () => {
    server = await startHttpServer([{ status: 200, body: [{ a: 1 }, { a: 2 }] }]);
    const bucket = await freshBucket('cli-fetch');
    const r = await cli(
      [
        'fetch',
        `${server.url}/?apikey=${SECRET_QUERY}`,
        '--source',
        's',
        '--dataset',
        'd',
        '--format',
        'csv',
        '--base',
        bucket.url('land/'),
      ],
      { ...bucket.env, SLUICE_S3_FORCE_PATH_STYLE: 'true' },
    );
    expect(r.stderr).not.toContain('E0');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^s3:\/\/.+\/land\/s\/d\/d_\d{8}T\d{9}Z-r[0-9a-f]+\.csv$/m);
    const storage = openStorage(bucket.url('land/'), s3Options());
    const keys: string[] = [];
    for await (const e of storage.list({ prefix: 's/' })) if (e.type === 'object') keys.push(e.key);
    expect(keys).toHaveLength(3); // csv, its .meta.json, request metadata
    const csvKey = keys.find((k) => k.endsWith('.csv'))!;
    expect((await storage.get(csvKey)).toString()).toBe('a\n1\n2\n');
    const bodies = (await Promise.all(keys.map((k) => storage.get(k)))).join('');
    expect(bodies).not.toContain(SECRET_QUERY);
    const latest = await cli(
      [
        'ingest',
        'latest',
        '--source',
        's',
        '--dataset',
        'd',
        '--format',
        'csv',
        '--base',
        bucket.url('land/'),
      ],
      {
        ...bucket.env,
        SLUICE_S3_FORCE_PATH_STYLE: 'true',
      },
    );
    expect(latest.code).toBe(0);
    expect(latest.stdout.trim()).toBe(r.stdout.split('\n')[0]);
    await storage.close();
  });
});

describe('sluice ingest', () => {
  it('latest and ls read what fetch saved; latest of nothing is E011', async () => {
    server = await startHttpServer([{ status: 200, body: { n: 1 } }]);
    const base = tempDir('cli-ls');
    const first = await cli(['fetch', server.url, '--source', 'a', '--dataset', 'x', '--base', base]);
    const second = await cli(['fetch', server.url, '--source', 'a', '--dataset', 'x', '--base', base]);
    expect(first.code + second.code).toBe(0);
    const latest = await cli(['ingest', 'latest', '--source', 'a', '--dataset', 'x', '--base', base]);
    expect(latest.stdout.trim()).toBe(second.stdout.split('\n')[0]);
    const ls = await cli(['ingest', 'ls', '--base', base, '--json']);
    const rows = JSON.parse(ls.stdout) as { source: string; dataset: string; files: number }[];
    expect(rows.map((r) => [r.source, r.dataset, r.files])).toEqual([
      ['a', 'x', 2],
      ['a', 'x_request_metadata', 2],
    ]);
    const table = await cli(['ingest', 'ls', '--source', 'a', '--base', base]);
    expect(table.stdout).toMatch(/^source\s+dataset\s+files\s+bytes\s+latest/);
    const none = await cli(['ingest', 'latest', '--source', 'a', '--dataset', 'nope', '--base', base]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/E011: No json files for dataset nope of source a/);
    await expect(fsp.stat(path.join(base, 'a', 'nope'))).rejects.toThrow(); // read-only lookup
  });
});
