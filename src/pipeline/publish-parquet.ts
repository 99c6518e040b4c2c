/**
 * The Parquet publish step every pipeline writer ends with (a CSV loaded to landing, a model
 * built to staging): hash the local file DuckDB wrote, then put it with its sha256 and row count
 * as metadata, so sync and promotion compare by content without reading it again.
 */
import * as fsp from 'node:fs/promises';
import { SHA256_META, sha256File } from '../storage/content-hash.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { Storage } from '../storage/types.ts';

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
  const [bytes, sha256] = await Promise.all([
    fsp.stat(file).then((s) => s.size),
    knownSha256 ?? sha256File(file),
  ]);
  const body =
    bytes <= IN_MEMORY_LIMIT ? await fsp.readFile(file) : (await fsp.open(file)).createReadStream();
  await store.put(key, body, {
    metadata: { [SHA256_META]: sha256, rows: String(rows) },
    contentType: CONTENT_TYPES.parquet,
  });
  return { bytes, sha256 };
}
