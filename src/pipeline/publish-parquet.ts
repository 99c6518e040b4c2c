/**
 * The Parquet publish step every pipeline writer ends with (a CSV loaded to landing, a model
 * built to staging): hash the local file DuckDB wrote, then put it with its sha256 and row count
 * as metadata, so sync and promotion compare by content without reading it again.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { SHA256_META } from '../storage/content-hash.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { PutBody, Storage } from '../storage/types.ts';
import { hashLocalFile } from './hash-file.ts';

/** Files up to this size are put from memory (one request); larger ones stream. */
const IN_MEMORY_LIMIT = 16 * 1024 * 1024;

export interface PublishedParquet {
  bytes: number;
  sha256: string;
}

/** `knownSha256`: the file's hash when the caller has it already (the file is not read twice). */
export async function publishParquet(
  store: Storage,
  key: string,
  file: string,
  rows: number,
  knownSha256?: string,
): Promise<PublishedParquet> {
  const put = (body: PutBody, sha256: string) =>
    store.put(key, body, {
      metadata: { [SHA256_META]: sha256, rows: String(rows) },
      contentType: CONTENT_TYPES.parquet,
    });
  const bytes = (await fsp.stat(file)).size;
  if (bytes <= IN_MEMORY_LIMIT) {
    // Read once: the bytes in memory are hashed and put.
    const body = await fsp.readFile(file);
    const sha256 = knownSha256 ?? createHash('sha256').update(body).digest('hex');
    await put(body, sha256);
    return { bytes: body.length, sha256 };
  }
  const sha256 = knownSha256 ?? (await hashLocalFile(file)).sha256;
  await put((await fsp.open(file)).createReadStream(), sha256);
  return { bytes, sha256 };
}
