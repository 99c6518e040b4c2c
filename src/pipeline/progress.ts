/** Progress as library code reports it; the CLI draws bars from these events. */
export interface PipelineProgress {
  operation: string;
  done: number;
  total?: number;
  unit: 'bytes' | 'rows' | 'files' | 'objects' | 'steps';
}

export type ProgressFn = (event: PipelineProgress) => void;
