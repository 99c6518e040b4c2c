/**
 * Everything the soak runs against, started once: s3rver (its own process) behind the fault
 * proxy, the HTTP API, a private Redis, the small disk, and the registry of sluice processes.
 * The soak itself reads S3 directly (not through the proxy) to check what sluice left there.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type FaultProxy, startFaultProxy } from '../test/helpers/fault-proxy.ts';
import { type S3rverHandle, startS3rver } from '../test/helpers/s3rver.ts';
import { type ApiServer, startApiServer } from './api-server.ts';
import { type FaultDisk, openFaultDisk } from './disk.ts';
import { Procs } from './procs.ts';
import { SoakRedis } from './redis.ts';
import type { Rng } from './rng.ts';

export const BUCKET = 'soak-lake';
export const INCOMING = 'ingest/soak/signals/';
/**
 * s3rver 3.7.1 removes a folder once its last object is deleted, and crashes (an unhandled
 * ENOENT on its write stream) when a PutObject into that folder races the removal: the poller
 * archiving the last object of the inbox while `fetch` writes the next one did exactly that. An
 * object the poller never reads (no data extension) keeps the folder in place.
 */
export const INBOX_KEEP = `${INCOMING}.soak-keep`;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface World {
  runDir: string;
  s3rver: S3rverHandle;
  proxy: FaultProxy;
  /** Direct to s3rver, for setup and checks. */
  s3: S3Client;
  api: ApiServer;
  redis: SoakRedis;
  disk: FaultDisk;
  procs: Procs;
  /** Environment every sluice process gets. */
  env: Record<string, string>;
  close(keep: boolean): Promise<void>;
}

export async function startWorld(rng: Rng, options: { diskSize: string; noTmpfs: boolean }): Promise<World> {
  const runDir = mkdtempSync(path.join(tmpdir(), 'sluice-soak-'));
  const closers: (() => Promise<void> | void)[] = [];
  try {
    const s3rver = await startS3rver();
    closers.push(() => s3rver.stop());
    const proxy = await startFaultProxy(s3rver.endpoint, rng.fork('proxy').seed32());
    closers.push(() => proxy.close());
    const s3 = new S3Client({
      endpoint: s3rver.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    closers.push(() => s3.destroy());
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: INBOX_KEEP, Body: '' }));
    const api = await startApiServer(rng.fork('api'));
    closers.push(() => api.close());
    const redis = await SoakRedis.start(runDir);
    closers.push(() => redis.stop());
    const disk = openFaultDisk(runDir, options.diskSize, options.noTmpfs);
    closers.push(() => disk.close());
    const tmp = path.join(disk.dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const env = {
      AWS_ENDPOINT_URL: proxy.endpoint,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      SLUICE_CACHE_DIR: path.join(runDir, 'cache'),
      SLUICE_LAKE_ROOT: `s3://${BUCKET}/pipeline`,
      // Temp files (DuckDB, staging, spools) land on the small disk too.
      TMPDIR: tmp,
      ...disk.env,
    };
    const procs = new Procs(runDir, env);
    closers.push(() => procs.close());
    return {
      runDir,
      s3rver,
      proxy,
      s3,
      api,
      redis,
      disk,
      procs,
      env,
      async close(keep) {
        for (const close of closers.reverse()) {
          try {
            await close();
          } catch (error) {
            process.stderr.write(`soak: teardown step failed: ${(error as Error).message}\n`);
          }
        }
        if (!keep) rmSync(runDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
    throw error;
  }
}
