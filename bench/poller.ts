// Poller benchmark on s3rver with a real Redis, in one run: 1,000 JSON + 100 CSV (50 rows) objects,
// each contender on its own bucket with the same objects:
//   seed   – a faithful re-implementation of Pulse's ingest_s3 loop: list, then per object
//            sequentially get → parse → enqueue each record (one add per record) → copy → delete;
//   16-way – a hand-written loop: 16 objects at once, addBulk per object, copy + delete;
//   sluice – the Poller (bullmq queue, Redis state, leases, archive keeping keys, metrics).
// Prints objects/s, records/s and client CPU seconds per 1,000 objects, and the ratios.
// Statistic: every figure is the median of N rounds (default 3; `--rounds N` or BENCH_ROUNDS), the
// contenders' order rotated each round; ratios are the medians of the per-round ratios.
// Usage: node bench/poller.ts [--quick] [--rounds N]   (--quick: 200 JSON + 20 CSV)
import { randomBytes } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { Poller } from '../src/poller/poller.ts';
import { createRedisStateStore } from '../src/poller/state-redis.ts';
import { createBullmqQueue } from '../src/queue/drivers/bullmq.ts';
import { closeS3Clients } from '../src/storage/drivers/s3/s3-storage.ts';
import { startS3rver } from '../test/helpers/s3rver.ts';
import { benchRounds, inRoundOrder, median, medianRatio } from './peers.ts';

const quick = process.argv.includes('--quick');
const JSON_OBJECTS = quick ? 200 : 1000;
const CSV_OBJECTS = quick ? 20 : 100;
const CSV_ROWS = 50;
const ROUNDS = benchRounds(3);
const OBJECTS = JSON_OBJECTS + CSV_OBJECTS;
const RECORDS = JSON_OBJECTS + CSV_OBJECTS * CSV_ROWS;
const REDIS = 'redis://127.0.0.1:6379/0';
const PREFIX = `sluice-bench-${randomBytes(3).toString('hex')}`;
const creds = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface Result {
  label: string;
  seconds: number;
  cpu: number;
  objects: number;
  records: number;
}

const server = await startS3rver();
const client = new S3Client({
  endpoint: server.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: creds,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
process.env.AWS_ENDPOINT_URL = server.endpoint;
process.env.AWS_ACCESS_KEY_ID = creds.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = creds.secretAccessKey;
process.env.AWS_REGION = 'us-east-1';

async function seedBucket(label: string): Promise<string> {
  const bucket = `${label}-${randomBytes(3).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const bodies: [string, string][] = [];
  for (let i = 0; i < JSON_OBJECTS; i++) {
    bodies.push([
      `incoming/json/j${i}.json`,
      JSON.stringify({ name: `s${i % 10}`, value: i, source: 'bench' }),
    ]);
  }
  for (let i = 0; i < CSV_OBJECTS; i++) {
    let csv = 'name,value,timestamp\n';
    for (let r = 0; r < CSV_ROWS; r++)
      csv += `s${r % 10},${i * CSV_ROWS + r},2024-01-01T00:${String(r).padStart(2, '0')}:00Z\n`;
    bodies.push([`incoming/csv/c${i}.csv`, csv]);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < bodies.length) {
        const [Key, Body] = bodies[next++] as [string, string];
        await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
      }
    }),
  );
  return bucket;
}

async function listAll(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'incoming/', ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

function parseBody(key: string, body: string): unknown[] {
  if (key.endsWith('.json')) return [JSON.parse(body)];
  return parseCsvSync(body, { columns: true }) as unknown[];
}

async function measure(label: string, run: () => Promise<number>): Promise<Result> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const records = await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { label, seconds, cpu: (cpu.user + cpu.system) / 1e6, objects: OBJECTS, records };
}

const connections: Redis[] = [];
const bullQueue = (name: string) => {
  const connection = new Redis(REDIS, { maxRetriesPerRequest: null });
  connections.push(connection);
  return new Queue(name, { connection, prefix: PREFIX });
};

async function seedLoop(bucket: string): Promise<number> {
  const queue = bullQueue('seed');
  let records = 0;
  // The seed reads one listing page; we page through all of them so every contender does the same work.
  for (const key of await listAll(bucket)) {
    if (!key.endsWith('.json') && !key.endsWith('.csv')) continue;
    const obj = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await (obj.Body as { transformToString(): Promise<string> }).transformToString();
    for (const record of parseBody(key, body)) {
      await queue.add('ingest_and_score_signal', record);
      records++;
    }
    const dest = `processed/${key.split('/').pop()}`; // the seed flattens the path
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: dest, CopySource: `${bucket}/${key}` }));
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  await queue.close();
  return records;
}

async function sixteenWay(bucket: string): Promise<number> {
  const queue = bullQueue('sixteen');
  const keys = await listAll(bucket);
  let next = 0;
  let records = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        const obj = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = await (obj.Body as { transformToString(): Promise<string> }).transformToString();
        const rows = parseBody(key, body);
        await queue.addBulk(rows.map((data) => ({ name: 'ingest_and_score_signal', data })));
        records += rows.length;
        const dest = `processed/${key.slice('incoming/'.length)}`;
        await client.send(
          new CopyObjectCommand({ Bucket: bucket, Key: dest, CopySource: `${bucket}/${key}` }),
        );
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      }
    }),
  );
  await queue.close();
  return records;
}

async function sluice(bucket: string): Promise<number> {
  const source = `s3://${bucket}/incoming/`;
  const queue = createBullmqQueue({ url: REDIS, prefix: PREFIX, name: 'sluice' });
  const state = createRedisStateStore({ url: REDIS, prefix: PREFIX }, source);
  const poller = new Poller({
    source,
    queue,
    state,
    minAgeMs: 0,
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 32),
  });
  const summary = await poller.pollOnce();
  await poller.close();
  await state.close();
  await queue.close();
  if (summary.archived !== OBJECTS) throw new Error(`sluice archived ${summary.archived} of ${OBJECTS}`);
  return summary.records;
}

async function cleanupRedis(): Promise<void> {
  const redis = new Redis(REDIS);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

try {
  const contenders: [string, (bucket: string) => Promise<number>][] = [
    ['seed loop', seedLoop],
    ['16-way addBulk loop', sixteenWay],
    ['sluice poller', sluice],
  ];
  // The machine is shared: rotate the order over rounds and report medians, never a best run.
  const runs = new Map<string, Result[]>(contenders.map(([label]) => [label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, run] of inRoundOrder(contenders, round)) {
      const bucket = await seedBucket(label.split(' ')[0]?.replace(/[^a-z0-9]/g, '') || 'b');
      const r = await measure(label, () => run(bucket));
      if (r.records !== RECORDS) throw new Error(`${label} enqueued ${r.records} of ${RECORDS} records`);
      runs.get(label)?.push(r);
      console.log(
        `round ${round + 1}: ${label.padEnd(20)} ${r.seconds.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s`,
      );
    }
  }
  const seconds = (label: string) => (runs.get(label) ?? []).map((r) => r.seconds);
  const cpu = (label: string) => (runs.get(label) ?? []).map((r) => r.cpu);
  console.log(
    `\n${JSON_OBJECTS} JSON + ${CSV_OBJECTS} CSV (${CSV_ROWS} rows) = ${OBJECTS} objects, ${RECORDS} records; medians of ${ROUNDS} rounds, order rotated each round`,
  );
  console.log('contender              seconds  objects/s  records/s  CPU s/1000 obj');
  for (const [label] of contenders) {
    const s = median(seconds(label));
    console.log(
      `${label.padEnd(22)} ${s.toFixed(2).padStart(7)}  ${(OBJECTS / s).toFixed(1).padStart(9)}  ${(RECORDS / s).toFixed(0).padStart(9)}  ${((median(cpu(label)) / OBJECTS) * 1000).toFixed(2).padStart(14)}`,
    );
  }
  const [seed, sixteen, ours] = contenders.map(([label]) => label) as [string, string, string];
  console.log('\nratios: the median of the per-round ratios');
  console.log(
    `sluice / seed loop:   ${medianRatio(seconds(seed), seconds(ours)).toFixed(2)}× objects/s (goal ≥ 1.6×)`,
  );
  console.log(
    `sluice / 16-way loop: ${medianRatio(seconds(sixteen), seconds(ours)).toFixed(2)}× objects/s (goal ≥ 0.90×)`,
  );
  console.log(
    `CPU per object, sluice / seed: ${medianRatio(cpu(ours), cpu(seed)).toFixed(2)}× (goal ≤ 1.0×)`,
  );
} finally {
  await Promise.all(connections.map((c) => c.quit().catch(() => {})));
  await cleanupRedis();
  await closeS3Clients();
  client.destroy();
  await server.stop();
}
