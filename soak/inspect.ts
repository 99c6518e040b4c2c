/**
 * How the soak looks at what sluice left behind, without going through the code under test
 * where it can: S3 objects read directly from s3rver, queue jobs read from the SQLite table or
 * the BullMQ keys in Redis, Parquet read by DuckDB, CSV by csv-parse. Only the time-series store
 * is read through its own read-only open (its log and segment format are its own).
 */

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { TimeSeriesStore } from '../src/timeseries/store.ts';
import { BUCKET } from './world.ts';

export interface S3Object {
  key: string;
  etag: string;
  size: number;
}

export async function listObjects(s3: S3Client, prefix: string): Promise<S3Object[]> {
  const out: S3Object[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of res.Contents ?? [])
      if (o.Key) out.push({ key: o.Key, etag: (o.ETag ?? '').replaceAll('"', ''), size: o.Size ?? 0 });
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

export async function getObject(s3: S3Client, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(
    await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export type JobState = 'completed' | 'dead' | 'pending';

export interface QueueJob {
  id: string;
  state: JobState;
  /** Where the driver keeps it: a BullMQ list (`wait`, `active`, `delayed`…) or a SQLite state. */
  list: string;
  data: Record<string, unknown>;
  error: string;
}

/** Every job of queue `name`, by id, in the state the driver keeps it. */
export async function queueJobs(url: string, name: string): Promise<Map<string, QueueJob>> {
  return url.startsWith('sqlite:') ? sqliteJobs(url.slice('sqlite:'.length), name) : bullmqJobs(url, name);
}

function sqliteJobs(file: string, name: string): Map<string, QueueJob> {
  const out = new Map<string, QueueJob>();
  const db = new DatabaseSync(file);
  try {
    const rows = db
      .prepare('SELECT id, state, data, last_error FROM sluice_jobs WHERE queue = ?')
      .all(name) as { id: string; state: string; data: string; last_error: string | null }[];
    for (const r of rows) {
      const state: JobState = r.state === 'completed' ? 'completed' : r.state === 'dead' ? 'dead' : 'pending';
      out.set(r.id, { id: r.id, state, list: r.state, data: JSON.parse(r.data), error: r.last_error ?? '' });
    }
  } finally {
    db.close();
  }
  return out;
}

async function bullmqJobs(url: string, name: string): Promise<Map<string, QueueJob>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const out = new Map<string, QueueJob>();
  try {
    const k = (s: string) => `bull:${name}:${s}`;
    // Pending jobs keep the list they sit in (said in the report when one is left over).
    const byState: [JobState, string, string[]][] = [
      ['completed', 'completed', await redis.zrange(k('completed'), '0', '-1')],
      ['dead', 'failed', await redis.zrange(k('failed'), '0', '-1')],
      ['pending', 'wait', await redis.lrange(k('wait'), '0', '-1')],
      ['pending', 'active', await redis.lrange(k('active'), '0', '-1')],
      ['pending', 'paused', await redis.lrange(k('paused'), '0', '-1')],
      ['pending', 'delayed', await redis.zrange(k('delayed'), '0', '-1')],
      ['pending', 'prioritized', await redis.zrange(k('prioritized'), '0', '-1')],
    ];
    for (const [state, list, ids] of byState) {
      const pipe = redis.pipeline();
      for (const id of ids) pipe.hmget(k(id), 'data', 'failedReason');
      const res = (await pipe.exec()) ?? [];
      ids.forEach((id, i) => {
        const [data, reason] = (res[i]?.[1] as (string | null)[] | undefined) ?? [];
        // A job listed in two states at once would be a broken queue: keep both, the check counts it.
        const key = out.has(id) ? `${id}#${state}` : id;
        out.set(key, { id, state, list, data: data ? JSON.parse(data) : {}, error: reason ?? '' });
      });
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

export interface PointRow {
  variable: string;
  micros: number;
  value: unknown;
  source?: string;
}

/** Every point of the store in [fromMs, toMs), through a read-only open beside no writer. */
export async function storePoints(
  dir: string,
  variables: string[],
  fromMs: number,
  toMs: number,
): Promise<PointRow[]> {
  const store = await TimeSeriesStore.open(dir, { readOnly: true });
  const out: PointRow[] = [];
  try {
    for (const variable of variables) {
      for await (const p of store.query(variable, { from: new Date(fromMs), to: new Date(toMs) })) {
        const source = (p.metadata as { source?: string } | undefined)?.source;
        out.push({ variable, micros: p.micros, value: p.value, ...(source ? { source } : {}) });
      }
    }
  } finally {
    await store.close();
  }
  return out;
}

let duck: Promise<DuckDBInstance> | undefined;

/** `variable, micros, value` of a Parquet file (bytes), as the writer or the lake holds it. */
export async function parquetPoints(bytes: Buffer, scratch: string): Promise<PointRow[]> {
  writeFileSync(scratch, bytes);
  duck ??= DuckDBInstance.create(':memory:').then(async (instance) => {
    // Timestamps are UTC; TimeZone needs icu, which cannot be set at create (as in src/engine).
    const c = await instance.connect();
    await c.run("LOAD icu; SET GLOBAL TimeZone='UTC'");
    c.closeSync();
    return instance;
  });
  const conn = await (await duck).connect();
  try {
    const reader = await conn.runAndReadAll(
      `SELECT variable, epoch_us(CAST("timestamp" AS TIMESTAMPTZ))::DOUBLE AS micros, CAST(value AS DOUBLE) AS value
       FROM read_parquet('${scratch.replaceAll("'", "''")}')`,
    );
    return reader.getRowObjects().map((r) => ({
      variable: String(r.variable),
      micros: Number(r.micros),
      value: r.value,
    }));
  } finally {
    conn.closeSync();
  }
}

/** `variable, micros, value` of the CSV `sluice ts export` wrote. */
export function csvPoints(file: string): PointRow[] {
  const rows = parse(readFileSync(file), { columns: true }) as Record<string, string>[];
  return rows.map((r) => ({
    variable: r.variable ?? '',
    micros: Date.parse(r.timestamp ?? '') * 1000 + Number(/\.\d{3}(\d{3})/.exec(r.timestamp ?? '')?.[1] ?? 0),
    value: Number(r.value),
  }));
}

export async function closeDuck(): Promise<void> {
  if (duck) (await duck).closeSync();
  duck = undefined;
}

/** Bytes and files under a folder, and how many of them are write-ahead log files. */
export function dirUsage(dir: string): { bytes: number; files: number; wal: number } {
  const out = { bytes: 0, files: 0, wal: 0 };
  try {
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      out.files++;
      out.bytes += statSync(path.join(e.parentPath, e.name)).size;
      if (e.parentPath.endsWith(`${path.sep}wal`) && e.name.endsWith('.log')) out.wal++;
    }
  } catch {
    // Not there yet.
  }
  return out;
}
