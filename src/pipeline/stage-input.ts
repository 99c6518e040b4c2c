/**
 * The CSV an ingest reads, as a local file DuckDB can open: the file itself, or an object URL
 * (s3://…) downloaded into a temp folder. With `hash`, also the sha256 and size of the bytes for
 * the lineage record, read once: hashed on the way down for an object; for a local file, read
 * beside DuckDB's conversion (from the page cache that conversion fills).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../errors.ts';
import { type OpenStorageOptions, openObjectUrl } from '../storage/open.ts';
import { type ProgressFn, throttleProgress } from '../util/progress.ts';
import { hashLocalFile } from './hash-file.ts';
import { downloadVerified, downloadVerifiedHashed } from './verified-get.ts';

/** An object URL (s3://…), not a path or file:// URL. */
export const isUrl = (p: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(p) && !p.startsWith('file://');

export interface StagedCsv {
  local: string;
  /** The bytes' sha256 and size (with `hash`); await it after the conversion. */
  read?: Promise<{ sha256: string; size: number }>;
}

export async function stageCsvInput(
  filePath: string,
  dir: string,
  options: {
    hash: boolean;
    storageOptions: OpenStorageOptions;
    /** Bytes of an object downloaded against its size: `download`, with `detail`. */
    onProgress?: ProgressFn | undefined;
    detail?: string;
  },
): Promise<StagedCsv> {
  if (!isUrl(filePath)) {
    if (!existsSync(filePath))
      throw new NotFoundError(`CSV file ${filePath} does not exist`, { context: { file: filePath } });
    if (!options.hash) return { local: filePath };
    const read = hashLocalFile(filePath);
    read.catch(() => {}); // awaited after the conversion; failing before that is not unhandled
    return { local: filePath, read };
  }
  const { storage, key } = openObjectUrl(filePath, options.storageOptions);
  const target = path.join(dir, 'input.csv');
  const report = throttleProgress(options.onProgress);
  const get = report
    ? {
        onBytes: (done: number, total: number) =>
          report({ operation: 'download', done, total, unit: 'bytes', detail: options.detail ?? filePath }),
      }
    : {};
  if (!options.hash) {
    await downloadVerified(storage, key, target, get);
    return { local: target };
  }
  const bytes = await downloadVerifiedHashed(storage, key, target, get);
  return { local: target, read: Promise.resolve(bytes) };
}
