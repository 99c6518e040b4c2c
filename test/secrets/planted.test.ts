/**
 * The planted-secret suite (issue #15): unique marker secrets go in everywhere a real job carries
 * them — URL query, userinfo, a dozen header spellings, nested JSON metadata, environment and
 * config, a failing job's error — and every command that takes them runs, on success and failure
 * paths, at trace level in both log formats. Then every byte sluice left (files under the
 * project and its private TMPDIR, the queue database, stdout, stderr) is searched: 0 markers.
 * Non-secret values beside them (`page=1`, `unit`) must survive unmasked.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../cli/stop-helpers.ts';
import { type CliResult, runSluice } from '../helpers/cli.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';
import { tempDir } from '../helpers/tmp.ts';

const RUN = randomBytes(4).toString('hex');
const markers: string[] = [];
/** A unique marker secret; nothing about it looks secret, so only its place can mask it. */
function plant(label: string): string {
  const marker = `zq${label}${RUN}x`;
  markers.push(marker);
  return marker;
}

const world = tempDir('planted');
const project = path.join(world, 'project');
const tmp = path.join(world, 'tmp');
const outputs: { what: string; text: string }[] = [];

async function sluice(what: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const result = await runSluice(args, {
    cwd: project,
    env: { TMPDIR: tmp, SLUICE_LOG_LEVEL: 'trace', ...env },
  });
  outputs.push(
    { what: `${what} stdout`, text: result.stdout },
    { what: `${what} stderr`, text: result.stderr },
  );
  return result;
}

const HEADERS = {
  'X-Vault-Token': plant('vault'),
  'Private-Token': plant('private'),
  'X-Custom-Token': plant('custom'),
  Authorization: `Bearer ${plant('bearer')}`,
  Cookie: `sid=${plant('cookie')}`,
  'X-Api-Key': plant('apikey'),
  'Proxy-Authorization': `Basic ${plant('proxy')}`,
  'X-Session-Id': plant('session'),
  'X-Amz-Security-Token': plant('amz'),
  'X-Auth-Signature': plant('sig'),
  gitlab_token: plant('gitlab'),
  'X-Client-Secret': plant('client'),
};
const headerFlags = Object.entries(HEADERS).flatMap(([k, v]) => ['--header', `${k}: ${v}`]);
const queryPart = () => `page=1&api_key=${plant('query')}&x-vault-token=${plant('qvault')}`;

let ok: TestHttpServer;
let unauthorized: TestHttpServer;
let failing: TestHttpServer;
let badBody: TestHttpServer;

beforeAll(async () => {
  mkdirSync(project);
  mkdirSync(tmp);
  writeFileSync(
    path.join(project, 'sluice.config.yaml'),
    'env: dev\ndataDir: ./data\nmodelsDir: ./models\nlakeRoot: ./lake\nsensitiveNames: [customer_ref]\n',
  );
  ok = await startHttpServer([{ body: { items: [{ id: 1, unit: 'C' }] } }]);
  unauthorized = await startHttpServer([{ status: 401, body: { error: 'bad token' } }]);
  failing = await startHttpServer([{ status: 503, body: 'try later' }]);
  badBody = await startHttpServer([{ headers: { 'content-type': 'application/json' }, body: '{"a":' }]);
});
afterAll(async () => {
  await Promise.all([ok, unauthorized, failing, badBody].map((s) => s?.close()));
});

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('planted secrets never leave sluice unmasked', { timeout: 240_000 }, () => {
  it('fetch in both log formats: success, 401, 503 with retries, unreachable, bad body', async () => {
    const hostOf = (s: TestHttpServer) => s.url.replace('http://', '');
    for (const format of ['json', 'pretty']) {
      const env = { SLUICE_LOG_FORMAT: format };
      const common = ['--base', 'data/api', '--retries', '2', '--retry-delay', '10ms', ...headerFlags];
      const success = await sluice(
        `fetch ok ${format}`,
        [
          'fetch',
          `${ok.url}/v1/items?${queryPart()}`,
          '--source',
          'src',
          '--dataset',
          `ok-${format}`,
          '--json',
          ...common,
        ],
        env,
      );
      expect(success.code, success.stderr).toBe(0);
      for (const [server, name] of [
        [unauthorized, 'unauthorized'],
        [failing, 'failing'],
        [badBody, 'bad-body'],
      ] as const) {
        await sluice(
          `fetch ${name} ${format}`,
          [
            'fetch',
            `${server.url}/v1?${queryPart()}`,
            '--source',
            'src',
            '--dataset',
            `${name}-${format}`,
            ...common,
          ],
          env,
        );
      }
      const port = await freePort();
      const down = await sluice(
        `fetch unreachable ${format}`,
        [
          'fetch',
          `http://127.0.0.1:${port}/v1?${queryPart()}`,
          '--source',
          'src',
          '--dataset',
          'down',
          ...common,
        ],
        env,
      );
      expect(down.code).not.toBe(0);
      expect(hostOf(ok)).toContain('127.0.0.1');
    }
    // The servers really received the secrets: masking is for what sluice keeps, not what it sends.
    expect(ok.requests[0]?.headers['x-vault-token']).toBe(HEADERS['X-Vault-Token']);
    expect(failing.requests.length).toBe(6); // 3 attempts × 2 formats
  });

  it('names the user added through SLUICE_SENSITIVE_NAMES are masked too', async () => {
    const server = await startHttpServer([{ body: { ok: true } }]);
    try {
      const run = await sluice(
        'fetch user names',
        [
          'fetch',
          `${server.url}/v1?page=1&tenant_ref=${plant('userq')}`,
          '--source',
          'src',
          '--dataset',
          'user',
          '--base',
          'data/api',
          '--header',
          `X-Tenant-Ref: ${plant('userh')}`,
        ],
        { SLUICE_SENSITIVE_NAMES: 'tenant_ref, other' },
      );
      expect(run.code, run.stderr).toBe(0);
      expect(server.requests[0]?.headers['x-tenant-ref']).toMatch(/^zquserh/);
    } finally {
      await server.close();
    }
  });

  it('a URL with userinfo is sent as Basic auth (as curl does) and stored masked', async () => {
    const password = plant('userinfo');
    const server = await startHttpServer([{ body: { ok: true } }]);
    try {
      const url = server.url.replace('http://', `http://bob:${password}@`);
      const run = await sluice('fetch userinfo', [
        'fetch',
        `${url}/v1?page=1`,
        '--source',
        'src',
        '--dataset',
        'basic',
        '--base',
        'data/api',
        '--json',
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(server.requests[0]?.headers.authorization).toBe(
        `Basic ${Buffer.from(`bob:${password}`).toString('base64')}`,
      );
      expect(server.requests[0]?.url).toBe('/v1?page=1');
      // The base64 of the credentials is a secret too.
      markers.push(Buffer.from(`bob:${password}`).toString('base64'));
    } finally {
      await server.close();
    }
  });

  it('nested JSON metadata, environment and config', async () => {
    // `customerRef` is sensitive only because the config file's sensitiveNames says so.
    const meta = JSON.stringify({
      source: { auth: { password: plant('metapw') }, customerRef: plant('userconfig') },
      unit: 'C',
    });
    const append = await sluice('ts append', ['ts', 'append', 'ts-store', 'temp', '21.5', '--meta', meta]);
    expect(append.code, append.stderr).toBe(0);
    await sluice('ts export', ['ts', 'export', 'ts-store', '--format', 'jsonl']);
    const env = {
      AWS_SECRET_ACCESS_KEY: plant('awssecret'),
      AWS_SESSION_TOKEN: plant('awssession'),
      SLUICE_S3_SECRET_ACCESS_KEY: plant('s3secret'),
    };
    const shown = await sluice('config', ['config'], env);
    expect(shown.code, shown.stderr).toBe(0);
    await sluice('config --json', ['config', '--json'], env);
  });

  it('a job that fails with a secret in its error, dead-lettered and listed', async () => {
    const drop = path.join(project, 'drop');
    mkdirSync(drop);
    // The record carries a credential too: `queue dead` shows it masked (the job keeps it for retry).
    writeFileSync(path.join(drop, 'a.jsonl'), `{"id":1,"unit":"C","api_token":"${plant('payload')}"}\n`);
    const poll = await sluice('poll', [
      'poll',
      '--source',
      'drop',
      '--queue',
      'sqlite:q.db',
      '--once',
      '--min-age',
      '0s',
    ]);
    expect(poll.code, poll.stderr).toBe(0);
    const handler = path.join(project, 'fail.mjs');
    writeFileSync(
      handler,
      `export default async () => { throw new Error('GET https://api.example.com/v1?page=1&access_token=${plant('joberr')} failed'); };\n`,
    );
    await sluice('worker', [
      'worker',
      '--queue',
      'sqlite:q.db',
      '--handler',
      handler,
      '--attempts',
      '1',
      '--drain',
    ]);
    const dead = await sluice('queue dead', ['queue', 'dead', '--queue', 'sqlite:q.db', '--json']);
    expect(dead.code, dead.stderr).toBe(0);
    // The payload is the user's record: kept whole in the object and the job (for `queue retry`),
    // so it is checked in what sluice printed and logged, not in the files.
    const payload = `zqpayload${RUN}x`;
    markers.splice(markers.indexOf(payload), 1);
    expect(dead.stdout).toContain('"api_token": "********"');
    for (const o of outputs) expect(o.text, o.what).not.toContain(payload);
    expect(dead.stdout).toContain('page=1'); // the error is listed, masked, not dropped
  });

  it('a bad object in the poller: the failed/ report holds no secret', async () => {
    const drop = path.join(project, 'drop2');
    mkdirSync(drop);
    writeFileSync(path.join(drop, 'b.jsonl'), `{"id":1}\n{"password": "${plant('badline')}", oops}\n`);
    await sluice('poll bad', [
      'poll',
      '--source',
      'drop2',
      '--queue',
      'sqlite:q2.db',
      '--once',
      '--min-age',
      '0s',
    ]);
    expect(readdirSync(path.join(drop, 'failed')).sort()).toEqual(['b.jsonl', 'b.jsonl.error.json']);
    // The object itself is the user's data, moved as it is; its error report must not quote it.
    markers.splice(markers.indexOf(`zqbadline${RUN}x`), 1);
    const report = readFileSync(path.join(drop, 'failed', 'b.jsonl.error.json'), 'utf8');
    expect(report).not.toContain(`zqbadline${RUN}x`);
  });

  it('finds no marker in any byte left behind, and keeps what is not secret', () => {
    const found: string[] = [];
    const haystacks = [
      ...filesUnder(world)
        // The user's own object, moved whole, and the test's own handler module.
        .filter((f) => !f.endsWith(`${path.sep}b.jsonl`) && !f.endsWith('fail.mjs'))
        .map((f) => ({ what: path.relative(world, f), text: readFileSync(f).toString('latin1') })),
      ...outputs,
    ];
    expect(haystacks.length).toBeGreaterThan(20);
    for (const { what, text } of haystacks) {
      for (const marker of markers) if (text.includes(marker)) found.push(`${marker} in ${what}`);
    }
    expect(found).toEqual([]);
    const all = haystacks.map((h) => h.text).join('\n');
    expect(all).toContain('page=1');
    expect(all).toContain('"unit"');
  });
});
