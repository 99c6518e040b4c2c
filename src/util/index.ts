export { formatBytes, parseDuration } from './format-bytes.ts';
export { parseJson, parseJsonOrThrow, parseJsonSlow } from './json-parse.ts';
export { measureTime, type Timed } from './measure-time.ts';
export { backoffDelay, type RetryOptions, retry, withRetry } from './retry.ts';
