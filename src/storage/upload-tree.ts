import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { joinKey } from './keys.ts';
import type { Storage } from './types.ts';

export interface UploadTreeOptions {
  /** Objects uploaded at once. @default 16 */
  concurrency?: number;
  /** Bodies up to this size are read into memory and sent in one request. @default 8 MiB */
  bufferLimit?: number;
  onProgress?: (done: { files: number; bytes: number; totalFiles: number; totalBytes: number }) => void;
  signal?: AbortSignal;
}

export interface UploadTreeResult {
  files: number;
  bytes: number;
}

/** Lists every regular file under `dir` as relative `/`-separated paths, sorted. */
export async function walkLocalFiles(dir: string): Promise<{ rel: string; size: number }[]> {
  const out: { rel: string; size: number }[] = [];
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, abs).split(path.sep).join('/');
    if (rel.split('/').some((s) => s === '.sluice-meta' || s.endsWith('.sluice-tmp'))) continue;
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
        const body = f.size <= bufferLimit ? await fsp.readFile(abs) : createReadStream(abs);
        await storage.put(
          joinKey(prefix.replace(/\/$/, ''), f.rel),
          body,
          options.signal ? { signal: options.signal } : {},
        );
        doneFiles += 1;
        doneBytes += f.size;
        options.onProgress?.({ files: doneFiles, bytes: doneBytes, totalFiles: files.length, totalBytes });
      }),
    ),
  );
  return { files: doneFiles, bytes: doneBytes };
}
