export { type KeysNotDeleted, keysNotDeleted } from './conditions.ts';
export { createFsStorage, type FsStorageOptions } from './drivers/fs/fs-storage.ts';
export { createMemoryStorage, type MemoryStorageOptions } from './drivers/memory/memory-storage.ts';
export { closeS3Clients, createS3Storage, type S3StorageOptions } from './drivers/s3/s3-storage.ts';
export { collectGarbage, type GarbageEntry, type GarbageOptions, type GarbageResult } from './gc.ts';
export {
  assertValidKey,
  assertValidPrefix,
  compareKeys,
  isValidKey,
  joinKey,
  normalizePrefix,
} from './keys.ts';
export {
  type OpenStorageOptions,
  openObjectUrl,
  openStorage,
  type ParsedStorageUrl,
  parseStorageUrl,
} from './open.ts';
export { listKeys, scopeStorage } from './scoped.ts';
export type * from './types.ts';
