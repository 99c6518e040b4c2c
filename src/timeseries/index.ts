export type { CompactResult, RetentionResult } from './compact.ts';
export type { ExportOptions, ImportOptions, ImportResult } from './io.ts';
export { TimeSeriesStore } from './store.ts';
export type * from './types.ts';
export { formatMicros, parseTimestamp, variableNameProblem } from './validate.ts';
