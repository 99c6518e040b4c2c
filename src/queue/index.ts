export { type BullmqQueueOptions, createBullmqQueue } from './drivers/bullmq.ts';
export { createSqliteQueue, type SqliteQueueOptions } from './drivers/sqlite.ts';
export { type OpenQueueOptions, openQueue, type ParsedQueueUrl, parseQueueUrl } from './open.ts';
export * from './types.ts';
export { type RunWorkerOptions, runWorker, type WorkerSummary } from './worker.ts';
