export { diffStorages, type SyncDiff, type SyncOptions, type SyncResult, syncStorages } from './sync.ts';
export { S3Synchronizer, type SynchronizerOptions } from './synchronizer.ts';
export { type UploadTreeOptions, uploadTree } from './upload-tree.ts';
