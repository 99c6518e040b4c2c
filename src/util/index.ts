export { parseDuration } from './durations.ts';
export { parseJson, parseJsonOrThrow, parseJsonSlow } from './json-parse.ts';
export { measureTime, type Timed } from './measure-time.ts';
export type { PipelineProgress, ProgressEvent, ProgressFn, ProgressUnit } from './progress.ts';
export { backoffDelay, type RetryOptions, retry, withRetry } from './retry.ts';
export { formatBytes, parseSize } from './sizes.ts';
