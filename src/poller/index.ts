export { type PollerConfig, PollerConfigSchema, resolvePollerConfig } from './config.ts';
export { openPollerState } from './open-state.ts';
export {
  detectFormat,
  type ParsedRecord,
  type ParseOptions,
  parseRecords,
  type RecordFormat,
} from './parse.ts';
export { Poller, type PollerOptions, type PollSummary, recordJobId } from './poller.ts';
export { isLocationUrl, type ResolvedLocation, resolveSource, resolveTarget, sourceScope } from './source.ts';
export {
  type ClaimResult,
  createSqliteStateStore,
  newOwnerId,
  type ObjectStatus,
  ownerIsDeadLocally,
  type PollerStateStore,
} from './state.ts';
export { createRedisStateStore, type RedisStateOptions } from './state-redis.ts';
