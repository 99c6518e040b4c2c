import { TimeSeriesStore } from '../timeseries/store.ts';
import type { TimeSeriesStoreOptions } from '../timeseries/types.ts';
import type { SignalStore } from './ingest-and-score.ts';

export interface ClosableSignalStore extends SignalStore {
  close(): Promise<void>;
}

/**
 * Opens the time-series store `--store` names (a local path or `s3://bucket/prefix`). The store
 * has one writer at a time (it takes a lock): run one worker process per store and raise
 * `--concurrency` instead; concurrent writes share its group commit.
 */
export async function openSignalStore(
  pathOrUrl: string,
  options: TimeSeriesStoreOptions = {},
): Promise<ClosableSignalStore> {
  const store = await TimeSeriesStore.open(pathOrUrl, options);
  return {
    storeDataPoint: (variable, timestamp, value, metadata) =>
      store.storeDataPoint(variable, timestamp, value, metadata ?? null),
    close: () => store.close(),
  };
}
