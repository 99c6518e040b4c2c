/** The seed's single-point append and reading points back, on any storage. */
import { jsonlReader } from '../formats/jsonl.ts';
import { DEFAULT_SOURCE, type IngestLocation, resolveStorage, type SavedFile } from './base.ts';
import type { StoredPoint } from './data-point.ts';
import { safeId } from './ids.ts';
import { IncrementalWriter } from './incremental.ts';
import type { IngestLineageOptions } from './lineage.ts';
import { compareStamped, parseStampedName, type StampedName } from './stamp.ts';

export interface IncrementalOptions extends IngestLocation, Omit<IngestLineageOptions, 'derivedFrom'> {
  /** @default 'default' */
  sourceName?: string;
  /** @default datasetId */
  variableName?: string;
  metadata?: Record<string, unknown>;
}

/**
 * The seed's single-point append. Durable when it returns; safe from several processes. For
 * many points use IncrementalWriter (one fsync per batch instead of one per point).
 */
export async function saveDataPointIncremental(
  datasetId: string,
  timestamp: Date | string | number,
  value: unknown,
  options: IncrementalOptions = {},
): Promise<SavedFile> {
  const writer = await IncrementalWriter.open({ ...options, datasetId, batchSize: 1, flushIntervalMs: 0 });
  try {
    await writer.write({ timestamp, value, ...(options.metadata ? { metadata: options.metadata } : {}) });
    if (writer.lastSegment) {
      const { key, url, size, sha256 } = writer.lastSegment;
      return { key, url, size, ...(sha256 ? { sha256 } : {}) };
    }
    return { ...writer.file, size: (await writer.storage.stat(writer.key)).size };
  } finally {
    await writer.close();
  }
}

/** Reads the points of a variable: the JSONL file, then its segments; torn lines are skipped. */
export async function* readDataPoints(
  datasetId: string,
  options: Omit<IncrementalOptions, 'metadata'> = {},
): AsyncIterable<StoredPoint> {
  const dataset = safeId(datasetId, 'dataset id');
  const source = safeId(options.sourceName ?? DEFAULT_SOURCE, 'source name');
  const variable = safeId(options.variableName ?? datasetId, 'variable name');
  const { storage, owned } = resolveStorage(options);
  try {
    const key = `${source}/${dataset}/${variable}.jsonl`;
    if (await storage.exists(key)) {
      yield* jsonlReader.read(storage, key, { skipInvalid: true }) as AsyncIterable<StoredPoint>;
    }
    const segments: (StampedName & { key: string })[] = [];
    for await (const entry of storage.list({ prefix: `${source}/${dataset}/${variable}.segments/` })) {
      if (entry.type !== 'object') continue;
      const parsed = parseStampedName(entry.key.slice(entry.key.lastIndexOf('/') + 1));
      if (parsed) segments.push({ ...parsed, key: entry.key });
    }
    for (const seg of segments.sort(compareStamped)) {
      yield* jsonlReader.read(storage, seg.key, { skipInvalid: true }) as AsyncIterable<StoredPoint>;
    }
  } finally {
    if (owned) await storage.close();
  }
}
