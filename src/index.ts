// Public API: re-exports only.
export * from './charts/index.ts';
export * from './config/index.ts';
export * from './crypto/index.ts';
export * from './engine/index.ts';
export * from './errors.ts';
export * from './formats/index.ts';
export * from './ingest/index.ts';
export * from './logging/logger.ts';
export * from './metrics/index.ts';
export * from './pipeline/index.ts';
export * from './poller/index.ts';
export * from './queue/index.ts';
export * from './secrets/index.ts';
export * from './storage/index.ts';
export * from './timeseries/index.ts';
export * from './util/index.ts';
export { VERSION } from './version.ts';
export * from './writer/index.ts';
