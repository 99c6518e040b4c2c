/**
 * The one progress event every long operation reports (sync, promote, write, convert, ts import
 * and export, poll, upload, encrypt). Library code only emits these; the CLI draws them as bars
 * (`cli/progress.ts`) and the service can count them, so one shape serves every operation.
 */
export type ProgressUnit = 'bytes' | 'rows' | 'files' | 'objects' | 'points' | 'steps' | 'jobs';

export interface ProgressEvent<U extends ProgressUnit = ProgressUnit> {
  /** What is running: 'sync', 'promote', 'write', 'import', 'upload', … */
  operation: string;
  done: number;
  /** Known when the amount of work is known up front. */
  total?: number;
  unit: U;
}

export type ProgressFn<U extends ProgressUnit = ProgressUnit> = (event: ProgressEvent<U>) => void;

/** The pipeline's name for the same event, kept for callers of the 0.1 API. */
export type PipelineProgress = ProgressEvent;
