/**
 * Load and model records: what each published file holds (rows, bytes, sha256, columns). One
 * small JSON object per dataset under `_sluice/<env>/datasets/` (pass `Lake.internal(env)`), each
 * written atomically, so concurrent
 * loads never race on a shared file. The catalog and the promotion gates read them.
 */
import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import type { WrittenOutput } from '../lineage/index.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { Storage } from '../storage/types.ts';
import { writtenText } from './lineage.ts';
import { getVerified } from './verified-get.ts';

const columnSchema = z.object({ name: z.string(), type: z.string() });
export type ColumnRecord = z.infer<typeof columnSchema>;

export const datasetRecordSchema = z.object({
  /** Logical path in the env: landing/<source>/<name>.parquet or staging/<model>.parquet. */
  path: z.string(),
  source: z.string().optional(),
  name: z.string(),
  file: z.string().optional(),
  rows: z.number(),
  bytes: z.number(),
  sha256: z.string(),
  rejected: z.number().optional(),
  columns: z.array(columnSchema),
  schema: z.record(z.string(), z.string()).nullable().optional(),
  description: z.string().optional(),
  dependsOn: z.array(z.string()).optional(),
  loadedAt: z.string(),
});
export type DatasetRecord = z.infer<typeof datasetRecordSchema>;

export function recordKey(datasetPath: string): string {
  return `datasets/${datasetPath.replace(/\.parquet$/, '')}.json`;
}

/** Writes the record; returns what was written (for its lineage commit). */
export async function writeLoadRecord(envStore: Storage, record: DatasetRecord): Promise<WrittenOutput> {
  const text = JSON.stringify(record, null, 2);
  await envStore.put(recordKey(record.path), text, { contentType: CONTENT_TYPES.json });
  return writtenText(text);
}

export async function readLoadRecord(
  envStore: Storage,
  datasetPath: string,
): Promise<DatasetRecord | undefined> {
  try {
    const raw = await getVerified(envStore, recordKey(datasetPath));
    return datasetRecordSchema.parse(JSON.parse(raw.toString('utf8')));
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}
