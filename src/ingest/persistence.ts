/**
 * The seed's ingestion persistence functions, on any Storage. Every save creates a new stamped
 * file (see save.ts) atomically; metadata and headers are masked before they are written.
 */

import { FormatError, ValidationError } from '../errors.ts';
import { stringifyJson } from '../formats/common.ts';
import { csvWriter, tabulate } from '../formats/csv.ts';
import { jsonlLine } from '../formats/jsonl.ts';
import { parquetWriter } from '../formats/parquet.ts';
import { maskSecretsInString, maskSensitiveData } from '../secrets/mask.ts';
import { collectBody } from '../storage/body.ts';
import type { PutResult, Storage } from '../storage/types.ts';
import { DEFAULT_SOURCE, type IngestLocation, type SavedFile, withStorage } from './base.ts';
import { safeId } from './ids.ts';
import {
  IngestLineage,
  type IngestLineageOptions,
  type PlannedIngestWrite,
  type RecordedWrite,
  writtenBytes,
} from './lineage.ts';
import { type CreateOutcome, createStamped } from './save.ts';
import { toDate } from './stamp.ts';

export type IngestFormat = 'json' | 'jsonl' | 'csv' | 'parquet';
const FORMATS: readonly IngestFormat[] = ['json', 'jsonl', 'csv', 'parquet'];
const CONTENT_TYPES: Record<IngestFormat, string> = {
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

export interface SaveOptions extends IngestLocation, IngestLineageOptions {
  /** @default 'default' */
  sourceName?: string;
  /** @default 'json' */
  fileFormat?: IngestFormat;
  /** Time in the file name (Date, epoch ms or ISO; a zone-less ISO string is UTC). @default now */
  timestamp?: Date | string | number;
  /** Indented JSON. @default true */
  pretty?: boolean;
  signal?: AbortSignal;
}

export interface SavedWithSidecar extends SavedFile {
  /** For csv/parquet saves that carry metadata: the `.meta.json` file beside the data. */
  metadataFile?: SavedFile;
}

export function checkFormat(format: string): IngestFormat {
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new ValidationError(
      `Invalid fileFormat ${JSON.stringify(format)}: use one of ${FORMATS.join(', ')}`,
      {
        context: { fileFormat: format },
      },
    );
  }
  return format as IngestFormat;
}

/** Serialises `data` as the seed did for json/csv, plus jsonl and parquet. */
export async function encodeData(data: unknown, format: IngestFormat, pretty = true): Promise<Buffer> {
  return (await encodeRows(data, format, pretty)).body;
}

/** The encoded bytes and, for the tabular formats, how many rows they hold (lineage records it). */
async function encodeRows(
  data: unknown,
  format: IngestFormat,
  pretty: boolean,
): Promise<{ body: Buffer; rows?: number }> {
  switch (format) {
    case 'json':
      return { body: Buffer.from(`${stringifyJson(data, pretty ? 2 : undefined)}\n`) };
    case 'jsonl': {
      const items = Array.isArray(data) ? data : [data];
      return { body: Buffer.from(items.map(jsonlLine).join('')), rows: items.length };
    }
    case 'csv': {
      const rows = tabulate(data);
      // The seed's fallback for data that is neither a list of objects nor an object: its text.
      if (!rows) return { body: Buffer.from(typeof data === 'string' ? data : stringifyJson(data)) };
      return { body: await collectBody(csvWriter.encode(rows)), rows: rows.length };
    }
    case 'parquet': {
      const rows = tabulate(data);
      if (!rows) {
        throw new FormatError('parquet needs a list of objects or an object (saved as key,value rows)', {
          context: { format },
        });
      }
      return { body: await collectBody(parquetWriter.encode(rows)), rows: rows.length };
    }
  }
}

/**
 * Saves `data` to `<base>/<source>/<dataset>/<dataset>_<stamp>.<ext>` and returns where.
 * Never overwrites: two saves in the same millisecond (or from two processes) give two files.
 */
export async function saveToFile(
  datasetId: string,
  data: unknown,
  options: SaveOptions = {},
): Promise<SavedFile> {
  return saveFile(datasetId, data, undefined, options, 'ingest.save');
}

/**
 * One stamped file (and its `.meta.json` sidecar), each under its lineage record: both intents in
 * one log object before the data file is created, each commit after its file is written.
 */
async function saveFile(
  datasetId: string,
  data: unknown,
  sidecar: unknown,
  options: SaveOptions,
  operation: string,
): Promise<SavedWithSidecar> {
  const dataset = safeId(datasetId, 'dataset id');
  const source = safeId(options.sourceName ?? DEFAULT_SOURCE, 'source name');
  const format = checkFormat(options.fileFormat ?? 'json');
  const date = options.timestamp === undefined ? new Date() : toDate(options.timestamp);
  const { body, rows } = await encodeRows(data, format, options.pretty ?? true);
  const sidecarText = sidecar === undefined ? undefined : `${stringifyJson(sidecar, 2)}\n`;
  return withStorage(options, async (storage) => {
    const lineage = IngestLineage.open(storage, options.lineage, { defer: options.storage !== undefined });
    try {
      const inputs = await lineage.inputsOf(options);
      const written = writtenBytes(body, rows);
      let sidecarRecord: RecordedWrite | undefined;
      const beforeCreate = async (key: string): Promise<CreateOutcome> => {
        const planned: PlannedIngestWrite[] = [{ key, operation, inputs }];
        if (sidecarText !== undefined)
          planned.push({
            key: `${key}.meta.json`,
            operation: 'ingest.metadata',
            inputs: [lineage.fileInput(key, written.sha256, written.size)],
          });
        const [file, meta] = (await lineage.begin(planned)) as [RecordedWrite, RecordedWrite?];
        sidecarRecord = meta;
        return {
          created: () => file.commit(written),
          lost: (error) => {
            file.abort(error);
            meta?.abort(error);
          },
        };
      };
      const saved = await createStamped(storage, `${source}/${dataset}`, dataset, date, format, body, {
        contentType: CONTENT_TYPES[format],
        ...(options.signal ? { signal: options.signal } : {}),
        ...(lineage.enabled ? { beforeCreate } : {}),
      });
      const file: SavedWithSidecar = {
        key: saved.key,
        url: saved.url,
        size: saved.size,
        sha256: saved.sha256,
        ...(saved.path ? { path: saved.path } : {}),
      };
      if (sidecarText !== undefined)
        file.metadataFile = await putSidecar(storage, file, sidecarText, sidecarRecord);
      await lineage.end();
      return file;
    } catch (error) {
      await lineage.endQuietly();
      throw error;
    }
  });
}

/** The sidecar shares the data file's name, so it is found from it; `.meta.json` is never a data file. */
async function putSidecar(
  storage: Storage,
  file: SavedFile,
  text: string,
  record: RecordedWrite | undefined,
): Promise<SavedFile> {
  let result: PutResult;
  try {
    result = await storage.put(`${file.key}.meta.json`, text, {
      ...(storage.capabilities.localFiles ? {} : { contentType: 'application/json' }),
      ifNotExists: true,
    });
  } catch (error) {
    record?.abort(error);
    throw error;
  }
  const written = writtenBytes(text);
  record?.commit(written);
  const metadataFile: SavedFile = {
    key: result.key,
    url: `${file.url}.meta.json`,
    size: result.size,
    sha256: written.sha256,
  };
  if (file.path) metadataFile.path = `${file.path}.meta.json`;
  return metadataFile;
}

export interface RequestMetadataOptions extends SaveOptions {
  /** Extra fields merged into the metadata (masked too). */
  additionalMetadata?: Record<string, unknown>;
  /** Names to mask besides the always-sensitive ones. @default DEFAULT_SENSITIVE_PARAMS */
  sensitiveParams?: Iterable<string>;
}

/**
 * Saves request parameters with every secret masked — nested keys, header-style names and
 * secrets inside URL query strings, case-insensitively — as
 * `<dataset>_request_metadata/<dataset>_request_metadata_<stamp>.json` (the seed's layout).
 */
export async function saveRequestMetadata(
  datasetId: string,
  params: Record<string, unknown>,
  options: RequestMetadataOptions = {},
): Promise<SavedFile> {
  const date = options.timestamp === undefined ? new Date() : toDate(options.timestamp);
  const metadata = maskSensitiveData(
    {
      timestamp: date.toISOString(),
      dataset_id: datasetId,
      source_name: options.sourceName ?? DEFAULT_SOURCE,
      request_params: params,
      ...(options.additionalMetadata ?? {}),
    },
    options.sensitiveParams,
  );
  const id = `${safeId(datasetId)}_request_metadata`;
  return saveFile(
    id,
    metadata,
    undefined,
    { ...options, fileFormat: 'json', timestamp: date },
    'ingest.request',
  );
}

export interface ApiResponseOptions extends SaveOptions {
  statusCode?: number;
  /** Response headers (object, Headers or Map); masked before saving. */
  headers?: unknown;
  /** Request URL; secrets in its query string are masked. */
  url?: string;
}

/**
 * Saves a raw API response. With a status code, headers or URL, json output wraps it as
 * `{timestamp, status_code, url, headers, data}`; csv/parquet output holds the data and the rest
 * goes to a `.meta.json` file beside it. Headers such as Authorization, Set-Cookie and X-Api-Key
 * are masked.
 */
export async function saveApiResponse(
  datasetId: string,
  responseData: unknown,
  options: ApiResponseOptions = {},
): Promise<SavedWithSidecar> {
  const date = options.timestamp === undefined ? new Date() : toDate(options.timestamp);
  const hasMeta =
    options.statusCode !== undefined || options.headers !== undefined || options.url !== undefined;
  const meta = hasMeta
    ? {
        timestamp: date.toISOString(),
        ...(options.statusCode !== undefined ? { status_code: options.statusCode } : {}),
        ...(options.url !== undefined ? { url: maskSecretsInString(options.url) } : {}),
        ...(options.headers !== undefined ? { headers: maskSensitiveData(options.headers) } : {}),
      }
    : undefined;
  const format = checkFormat(options.fileFormat ?? 'json');
  const saveOptions = { ...options, timestamp: date };
  const op = 'ingest.response';
  if (!meta) return saveFile(datasetId, responseData, undefined, saveOptions, op);
  if (format === 'json')
    return saveFile(datasetId, { ...meta, data: responseData }, undefined, saveOptions, op);
  return saveFile(datasetId, responseData, meta, saveOptions, op);
}

export interface ProcessedDataOptions extends SaveOptions {
  /** Kept with the data (masked): json objects get `_metadata`, lists are wrapped. */
  metadata?: Record<string, unknown>;
}

/**
 * Saves processed data as `<dataset>_processed`. The seed dropped metadata for list payloads;
 * here json keeps it: an object becomes `{...data, _metadata}`, anything else (a list)
 * `{data, _metadata}`; csv/parquet write it to a `.meta.json` file beside the data.
 */
export async function saveProcessedData(
  datasetId: string,
  processedData: unknown,
  options: ProcessedDataOptions = {},
): Promise<SavedWithSidecar> {
  const id = `${safeId(datasetId)}_processed`;
  const format = checkFormat(options.fileFormat ?? 'json');
  const op = 'ingest.processed';
  if (!options.metadata) return saveFile(id, processedData, undefined, options, op);
  const metadata = maskSensitiveData(options.metadata);
  if (format === 'json') {
    const isObject =
      processedData !== null && typeof processedData === 'object' && !Array.isArray(processedData);
    const wrapped = isObject
      ? { ...(processedData as Record<string, unknown>), _metadata: metadata }
      : { data: processedData, _metadata: metadata };
    return saveFile(id, wrapped, undefined, options, op);
  }
  return saveFile(id, processedData, { _metadata: metadata }, options, op);
}
