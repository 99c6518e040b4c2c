import { TimeSeriesStore } from '../timeseries/store.ts';
import type { TimeSeriesStoreOptions } from '../timeseries/types.ts';
import type { SignalStore } from './ingest-and-score.ts';

export interface ClosableSignalStore extends SignalStore {
  close(): Promise<void>;
}

/**
 * Opens the time-series store `--store` names (a local path or `s3://bucket/prefix`) as one of its
 * writers: any number of worker processes can write one store (docs/timeseries.md, "Many
 * writers"); within a process, concurrent jobs share its group commit.
 */
export async function openSignalStore(
  pathOrUrl: string,
  options: TimeSeriesStoreOptions = {},
): Promise<ClosableSignalStore> {
  const store = await TimeSeriesStore.open(pathOrUrl, options);
  return {
    storeDataPoint: (variable, timestamp, value, metadata, append) =>
      store.storeDataPoint(variable, timestamp, value, metadata ?? null, append),
    close: () => store.close(),
  };
}
