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
  const uploadOne = (rel: string, size: number) => {
    signal.throwIfAborted();
    const abs = path.join(dir, ...rel.split('/'));
    return retry(
      async () => {
        const body = size <= bufferLimit ? await fsp.readFile(abs) : createReadStream(abs);
        try {
          signal.throwIfAborted(); // another file failed while this one was being read
          await storage.put(joinKey(prefix.replace(/\/$/, ''), rel), body, { signal });
        } finally {
          // A put that failed before reading to the end must not keep the file open.
          if (!Buffer.isBuffer(body)) body.destroy();
        }
      },
      {
        maxAttempts: options.transientAttempts ?? 3,
        delayMs: options.retryDelayMs ?? 500,
        maxDelayMs: 10_000,
        shouldRetry: (error) => isTransient(error) && !signal.aborted,
        signal,
      },
    );
  };
  let doneFiles = 0;
  let doneBytes = 0;
  // The first file that fails for good stops the rest: queued files are not started and those in
  // flight are aborted (a put is atomic: an aborted one leaves nothing), so nothing is still
  // uploading after the caller has been told the upload failed.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let failure: { error: unknown } | undefined;
  await Promise.allSettled(
    files.map((f) =>
      limit(async () => {
        if (failure) return;
        try {
          await uploadOne(f.rel, f.size);
        } catch (error) {
          // The first error is the cause; the aborts it caused in other files are not.
          failure ??= { error };
          stop.abort(error);
          return;
        }
        doneFiles += 1;
        doneBytes += f.size;
        options.onProgress?.({ operation: 'upload', done: doneBytes, total: totalBytes, unit: 'bytes' });
      }),
    ),
  );
  if (failure) throw failure.error;
  return { files: doneFiles, bytes: doneBytes };
}
