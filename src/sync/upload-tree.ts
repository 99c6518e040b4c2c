import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { isTransient } from '../errors.ts';
import { isListed, joinKey } from '../storage/keys.ts';
import type { Storage } from '../storage/types.ts';
import type { ProgressFn } from '../util/progress.ts';
import { retry } from '../util/retry.ts';

export interface UploadTreeOptions {
  /** Objects uploaded at once. @default 16 */
  concurrency?: number;
  /** Bodies up to this size are read into memory and sent in one request. @default 8 MiB */
  bufferLimit?: number;
  /**
   * Attempts per file when the upload fails transiently (a connection reset, a timeout, 5xx,
   * throttling), the first included, each with a fresh body; on top of the S3 client's own
   * per-request retries. @default 3
   */
  transientAttempts?: number;
  /** Delay before the first retry; doubled per retry (at most 10 s), with jitter. @default 500 */
  retryDelayMs?: number;
  /** Bytes uploaded so far, of all files' bytes ({operation: 'upload', unit: 'bytes'}). */
  onProgress?: ProgressFn<'bytes'>;
  signal?: AbortSignal;
}

export interface UploadTreeResult {
  files: number;
  bytes: number;
}

/** Lists every regular file under `dir` as relative `/`-separated paths, sorted; sluice's own files are left out. */
export async function walkLocalFiles(dir: string): Promise<{ rel: string; size: number }[]> {
  const out: { rel: string; size: number }[] = [];
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, abs).split(path.sep).join('/');
    if (!isListed(rel)) continue;
    out.push({ rel, size: (await fsp.stat(abs)).size });
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Uploads a local directory tree under `prefix` of `storage`, many files at once. */
export async function uploadTree(
  dir: string,
  storage: Storage,
  prefix: string,
  options: UploadTreeOptions = {},
): Promise<UploadTreeResult> {
  const files = await walkLocalFiles(dir);
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  const limit = pLimit(options.concurrency ?? 16);
  const bufferLimit = options.bufferLimit ?? 8 * 1024 * 1024;
  let doneFiles = 0;
  let doneBytes = 0;
  await Promise.all(
    files.map((f) =>
      limit(async () => {
        options.signal?.throwIfAborted();
        const abs = path.join(dir, ...f.rel.split('/'));
        await retry(
          async () => {
            const body = f.size <= bufferLimit ? await fsp.readFile(abs) : createReadStream(abs);
            try {
              await storage.put(
                joinKey(prefix.replace(/\/$/, ''), f.rel),
                body,
                options.signal ? { signal: options.signal } : {},
              );
            } finally {
              // A put that failed before reading to the end must not keep the file open.
              if (!Buffer.isBuffer(body)) body.destroy();
            }
          },
          {
            maxAttempts: options.transientAttempts ?? 3,
            delayMs: options.retryDelayMs ?? 500,
            maxDelayMs: 10_000,
            shouldRetry: (error) => isTransient(error) && !options.signal?.aborted,
            ...(options.signal ? { signal: options.signal } : {}),
          },
        );
        doneFiles += 1;
        doneBytes += f.size;
        options.onProgress?.({ operation: 'upload', done: doneBytes, total: totalBytes, unit: 'bytes' });
      }),
    ),
  );
  return { files: doneFiles, bytes: doneBytes };
}
