/**
 * `import … from 'sluice'`: the names most programs start with. Everything else lives under a
 * subpath that loads only its own module — `sluice/storage`, `sluice/sync`, `sluice/ingest`,
 * `sluice/poller`, `sluice/queue`, `sluice/jobs`, `sluice/timeseries`, `sluice/writer`,
 * `sluice/formats`, `sluice/charts`, `sluice/pipeline`, `sluice/crypto`, `sluice/config`,
 * `sluice/secrets`, `sluice/metrics`, `sluice/engine`, `sluice/util`, `sluice/errors`
 * (docs/architecture.md). Re-exports only.
 */
export { Config, loadConfig } from './config/index.ts';
export { decryptFile, encryptFile } from './crypto/index.ts';
export * from './errors.ts';
export {
  fetchAndSave,
  findLatestFile,
  IncrementalWriter,
  saveApiResponse,
  saveRequestMetadata,
} from './ingest/index.ts';
export { DataPromoter, Pipeline } from './pipeline/index.ts';
export { Poller } from './poller/index.ts';
export { openQueue, runWorker } from './queue/index.ts';
export { openStorage, parseStorageUrl, type Storage } from './storage/index.ts';
export { syncStorages } from './sync/index.ts';
export { TimeSeriesStore } from './timeseries/index.ts';
export { VERSION } from './version.ts';
export { DataWriter } from './writer/index.ts';
