/**
 * Every shell example of README.md and docs/*.md runs as written (#18 item 1), as a user runs it
 * after the README's install step: `npx sluice …` and, after `npm link`, `sluice …` (shims on
 * PATH run the checkout's CLI, test/helpers/shell.ts). What counts as an example, and the
 * `<!-- not-run: … -->` exemption, are in test/helpers/doc-examples.ts.
 *
 * Each document runs in a fresh folder holding what its text assumes (below: the files its
 * commands name as inputs, the buckets of its s3:// URLs on a private s3rver, the API of its
 * fetch example); its blocks run in order, each from that folder (a `cd` moves the rest of its
 * block), and a failure names the document, the line and the command.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';
import {
  blocksOf,
  checkExample,
  EXAMPLE_LANGS,
  type Example,
  examplesOf,
  runsUntilStopped,
} from '../helpers/doc-examples.ts';
import { type FakeApi, startFakeApi } from '../helpers/fake-api.ts';
import { TEST_CREDENTIALS } from '../helpers/s3.ts';
import { type S3rverHandle, startS3rver } from '../helpers/s3rver.ts';
import { runLine, sluiceShims } from '../helpers/shell.ts';
import { tempDir } from '../helpers/tmp.ts';

const DOCS = ['README.md', ...readdirSync(path.join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`)].filter((d) =>
  d.endsWith('.md'),
);
/** Exempt blocks allowed in all the docs: exemptions must stay rare. */
const MAX_NOT_RUN = 2;
/** How long a command that runs until stopped works before the test presses Ctrl-C. */
const RUN_BEFORE_CTRL_C_MS = 4_000;

/** A document's folder and the services its examples talk to. */
interface DocWorld {
  dir: string;
  /** The test's own bookkeeping folder (beside dir, not in it). */
  state: string;
  env: NodeJS.ProcessEnv;
  stops: (() => Promise<void>)[];
  /** Redis keys an example may create under names the doc fixes (removed after, if new). */
  redisKeys: string[];
  /** Checks after the doc's examples ran that they reached what they were meant to. */
  after: (() => void | Promise<void>)[];
}

const file = (world: DocWorld, name: string, text: string) => writeFileSync(path.join(world.dir, name), text);

/** A private s3rver holding `buckets`, for a doc's s3://bucket/… URLs; AWS_* point the CLI at it. */
async function s3With(world: DocWorld, buckets: string[], objects: Record<string, string> = {}) {
  const s3: S3rverHandle = await startS3rver();
  world.stops.push(() => s3.stop());
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
  });
  for (const Bucket of buckets) await client.send(new CreateBucketCommand({ Bucket }));
  for (const [url, body] of Object.entries(objects)) {
    const [, Bucket, Key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) ?? [];
    await client.send(new PutObjectCommand({ Bucket, Key, Body: body }));
  }
  client.destroy();
  Object.assign(world.env, {
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  });
}

/** What each document's examples assume exists before them. Docs not named assume nothing. */
const PREPARE: Record<string, (world: DocWorld) => Promise<void>> = {
  'README.md': async (world) => {
    // `sluice storage put ./report.csv …`, `put --recursive ./out …`, `sluice write data.csv …`
    file(world, 'report.csv', 'day,value\n2024-01-01,1.5\n2024-01-02,2.5\n');
    await mkdir(path.join(world.dir, 'out'));
    file(world, 'out/part-0.csv', 'a,b\n1,2\n');
    file(world, 'out/part-1.csv', 'a,b\n3,4\n');
    file(world, 'data.csv', 'id,name,country\n1,Ann,KE\n2,Bo,NG\n3,Cy,KE\n');
    // s3://bucket/… (storage, the poller's source, the sync target); one signal waits in incoming/.
    await s3With(world, ['bucket'], {
      's3://bucket/incoming/reading.json': '{"name":"cpu","value":0.5}',
    });
    // `sluice fetch "https://api.example.com/v1/prices?api_key=$API_KEY" … "Authorization: Bearer $TOKEN"`
    const api: FakeApi = await startFakeApi('api.example.com', world.dir, () => ({
      body: { prices: [{ day: '2024-01-01', btc: 42000.5 }] },
    }));
    world.stops.push(() => api.stop());
    Object.assign(world.env, api.env, { API_KEY: 'doc-api-key', TOKEN: 'doc-token' });
    world.after.push(() =>
      expect(api.requests.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
        ['GET', '/v1/prices?api_key=doc-api-key', 'Bearer doc-token'],
      ]),
    );
    world.redisKeys.push('bull:sluice:meta'); // `sluice queue stats --queue redis://127.0.0.1:6379/0`
    // The poller → queue → worker example moved the waiting signal into the worker's store.
    world.after.push(async () => {
      const latest = await runLine('sluice ts latest ./data/ts cpu --format json', {
        cwd: world.dir,
        env: world.env,
        stateDir: world.state,
      });
      expect(latest.stdout, latest.stderr).toMatch(/"value": ?0\.5\b/);
    });
  },
  'docs/poller.md': async (world) => {
    // `sluice poll --source ./drop … --once`: a JSON document and a CSV of two rows.
    await mkdir(path.join(world.dir, 'drop'));
    file(world, 'drop/reading.json', '{"name":"cpu","value":0.5}');
    file(world, 'drop/readings.csv', 'name,value\ncpu,0.6\ncpu,0.7\n');
    // s3://bucket/incoming/ (polled into Redis queue `sluice`: left empty, so no job lands in a
    // queue other runs may read) and PULSE_S3_BUCKET=pulse.
    await s3With(world, ['bucket', 'pulse']);
    world.redisKeys.push('bull:sluice:meta');
  },
};

/** The environment of a user's shell: no test settings, the shims first on PATH. */
function userEnv(world: DocWorld, shims: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(SLUICE_|AWS_|VITEST|NODE_OPTIONS$)/.test(name)) delete env[name];
  }
  return {
    ...env,
    PATH: `${shims}${path.delimiter}${process.env.PATH ?? ''}`,
    // Sync's hash cache: in the doc's folder, not ~/.cache.
    SLUICE_CACHE_DIR: path.join(world.dir, '..', 'cache'),
  };
}

/** The documents' example blocks, with the npm lines left out and the exempt blocks. */
function collect() {
  const runnable = new Map<string, Example[][]>();
  const exempt: { doc: string; line: number; reason: string }[] = [];
  for (const doc of DOCS) {
    for (const block of blocksOf(REPO_ROOT, doc)) {
      if (!EXAMPLE_LANGS.has(block.lang)) continue;
      if (block.notRun) {
        exempt.push({ doc, line: block.line, reason: block.notRun });
        continue;
      }
      const { examples } = examplesOf(block);
      if (examples.length > 0) runnable.set(doc, [...(runnable.get(doc) ?? []), examples]);
    }
  }
  return { runnable, exempt };
}

const { runnable, exempt } = collect();

describe('the examples in README.md and docs/', () => {
  it('finds them, and exempts few blocks, each with a reason', () => {
    expect([...runnable.keys()]).toEqual(
      expect.arrayContaining(['README.md', 'docs/pipeline.md', 'docs/poller.md']),
    );
    const count = [...runnable.values()].flat(2).length;
    expect(count).toBeGreaterThan(40);
    expect(exempt.length, JSON.stringify(exempt)).toBeLessThanOrEqual(MAX_NOT_RUN);
    for (const e of exempt) expect(e.reason.length, `${e.doc}:${e.line}`).toBeGreaterThan(20);
  });

  it.concurrent.each([...runnable.keys()])(
    '%s: every example runs as written',
    async (doc) => {
      const root = tempDir('doc-examples');
      const state = path.join(root, 'state');
      const world: DocWorld = {
        dir: path.join(root, 'work'),
        state,
        env: {},
        stops: [],
        redisKeys: [],
        after: [],
      };
      await mkdir(world.dir);
      await mkdir(state);
      world.env = userEnv(world, sluiceShims(path.join(root, 'bin')));
      const redis = new Redis('redis://127.0.0.1:6379/0', { lazyConnect: true, maxRetriesPerRequest: 1 });
      let newKeys: string[] = [];
      try {
        await PREPARE[doc]?.(world);
        if (world.redisKeys.length > 0) {
          await redis.connect();
          const existed = await Promise.all(world.redisKeys.map((k) => redis.exists(k)));
          newKeys = world.redisKeys.filter((_, i) => existed[i] === 0);
        }
        for (const block of runnable.get(doc) ?? []) {
          let cwd = world.dir;
          let previousStatus = 0;
          for (const ex of block) {
            const res = await runLine(ex.command, {
              cwd,
              env: world.env,
              stateDir: state,
              previousStatus,
              ...(runsUntilStopped(ex.command) ? { interruptAfterMs: RUN_BEFORE_CTRL_C_MS } : {}),
            });
            const failure = checkExample(ex, res);
            if (failure) expect.fail(failure);
            cwd = res.cwd;
            previousStatus = res.status;
          }
        }
        for (const after of world.after) await after();
      } finally {
        if (newKeys.length > 0) await redis.del(...newKeys);
        redis.disconnect();
        for (const stop of world.stops.reverse()) await stop();
      }
    },
    240_000,
  );
});
