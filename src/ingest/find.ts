/**
 * Looking up saved files. Read-only: listing creates nothing (the seed's find_latest_file
 * created the directory it searched), and order comes from the stamp in each name, never from
 * mtime (which copies, syncs and restores change).
 */
import type { ListEntry, Storage } from '../storage/types.ts';
import { DEFAULT_SOURCE, describeKey, type IngestLocation, type SavedFile, withStorage } from './base.ts';
import { safeId } from './ids.ts';
import { checkFormat, type IngestFormat } from './persistence.ts';
import { compareStamped, parseStampedName, type StampedName } from './stamp.ts';

export interface FindOptions extends IngestLocation {
  /** @default 'default' */
  sourceName?: string;
  /** @default 'json' */
  fileFormat?: IngestFormat;
}

export interface StampedFile extends SavedFile {
  /** When the file was saved, from its name. */
  timestamp: Date;
}

type Candidate = StampedName & { key: string; size: number };

async function candidates(storage: Storage, dir: string, dataset: string, ext: string): Promise<Candidate[]> {
  const found: Candidate[] = [];
  for await (const entry of storage.list({ prefix: `${dir}/`, recursive: false })) {
    if (entry.type !== 'object') continue;
    const name = entry.key.slice(entry.key.lastIndexOf('/') + 1);
    const parsed = parseStampedName(name);
    if (parsed && parsed.dataset === dataset && parsed.ext === ext)
      found.push({ ...parsed, key: entry.key, size: entry.size });
  }
  return found.sort(compareStamped);
}

function toFile(storage: Storage, c: Candidate): StampedFile {
  return { ...describeKey(storage, c.key, c.size), timestamp: c.date };
}

/** Every saved file of a dataset in one format, oldest first (by stamp, then sequence suffix). */
export async function listSavedFiles(datasetId: string, options: FindOptions = {}): Promise<StampedFile[]> {
  const dataset = safeId(datasetId, 'dataset id');
  const source = safeId(options.sourceName ?? DEFAULT_SOURCE, 'source name');
  const ext = checkFormat(options.fileFormat ?? 'json');
  return withStorage(options, async (storage) =>
    (await candidates(storage, `${source}/${dataset}`, dataset, ext)).map((c) => toFile(storage, c)),
  );
}

/**
 * The most recent saved file of a dataset, or undefined when there is none. Ties in the same
 * millisecond go to the higher sequence suffix (the later save), then to the name's byte order.
 */
export async function findLatestFile(
  datasetId: string,
  options: FindOptions = {},
): Promise<StampedFile | undefined> {
  const files = await listSavedFiles(datasetId, options);
  return files.at(-1);
}

export interface DatasetSummary {
  source: string;
  dataset: string;
  files: number;
  bytes: number;
  latest?: string;
  latestTimestamp?: Date;
}

/** Datasets under the base (or one source): file counts, sizes and the latest file of each. */
export async function listDatasets(
  options: IngestLocation & { sourceName?: string } = {},
): Promise<DatasetSummary[]> {
  const prefix = options.sourceName ? `${safeId(options.sourceName, 'source name')}/` : '';
  return withStorage(options, async (storage) => {
    const byDataset = new Map<string, DatasetSummary & { best?: Candidate }>();
    for await (const entry of storage.list({ prefix, recursive: true }) as AsyncIterable<ListEntry>) {
      if (entry.type !== 'object') continue;
      const parts = entry.key.split('/');
      if (parts.length !== 3) continue;
      const [source, dataset, name] = parts as [string, string, string];
      const parsed = parseStampedName(name);
      if (!parsed || parsed.dataset !== dataset || parsed.ext.endsWith('meta.json')) continue;
      const id = `${source}/${dataset}`;
      const summary = byDataset.get(id) ?? { source, dataset, files: 0, bytes: 0 };
      summary.files++;
      summary.bytes += entry.size;
      const candidate = { ...parsed, key: entry.key, size: entry.size };
      if (!summary.best || compareStamped(summary.best, candidate) < 0) summary.best = candidate;
      byDataset.set(id, summary);
    }
    return [...byDataset.values()]
      .map(({ best, ...s }) => ({ ...s, ...(best ? { latest: best.key, latestTimestamp: best.date } : {}) }))
      .sort((a, b) =>
        a.source === b.source ? (a.dataset < b.dataset ? -1 : 1) : a.source < b.source ? -1 : 1,
      );
  });
}
