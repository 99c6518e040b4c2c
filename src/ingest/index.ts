export { maskSensitiveData } from '../secrets/mask.ts';
export {
  DEFAULT_BASE_DIR,
  DEFAULT_SOURCE,
  defaultBaseDir,
  ensureDataDirectory,
  type IngestLocation,
  type SavedFile,
} from './base.ts';
export { type DataPoint, dataPointLine, type StoredPoint as IncrementalStoredPoint } from './data-point.ts';
export { type FetchAndSaveOptions, type FetchAndSaveResult, fetchAndSave } from './fetch.ts';
export {
  type DatasetSummary,
  type FindOptions,
  findLatestFile,
  listDatasets,
  listSavedFiles,
  type StampedFile,
} from './find.ts';
export { type IdKind, isValidId, MAX_ID_LENGTH, safeId } from './ids.ts';
export { IncrementalWriter, type IncrementalWriterOptions } from './incremental.ts';
export { type IncrementalOptions, readDataPoints, saveDataPointIncremental } from './incremental-points.ts';
export { flushIngestLineage, httpInput, type IngestLineageOptions } from './lineage.ts';
export {
  type ApiResponseOptions,
  encodeData,
  type IngestFormat,
  type ProcessedDataOptions,
  type RequestMetadataOptions,
  type SavedWithSidecar,
  type SaveOptions,
  saveApiResponse,
  saveProcessedData,
  saveRequestMetadata,
  saveToFile,
} from './persistence.ts';
export { formatStamp, parseStamp, parseStampedName, type StampedName, toDate } from './stamp.ts';
