import { UsageError } from '../../errors.ts';
import type { SignalStore } from './ingest-and-score.ts';

export interface ClosableSignalStore extends SignalStore {
  close(): Promise<void>;
}

/**
 * Opens the time-series store `--store` names. The store lives in `src/timeseries/`; until that
 * module is part of the build, this says so instead of writing points somewhere else.
 */
export async function openSignalStore(pathOrUrl: string): Promise<ClosableSignalStore> {
  throw new UsageError(
    `The time-series store (${pathOrUrl}) is not available in this build: src/timeseries is not merged yet`,
  );
}
