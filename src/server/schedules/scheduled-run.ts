/** One scheduled run: the schedule's Pipeline on its own lake handle, closed after the run. */
import { Pipeline, storageOptionsFrom } from '../../pipeline/index.ts';
import { openStorage } from '../../storage/open.ts';
import type { RunScheduled } from './types.ts';

export const runScheduledPipeline: RunScheduled = async (schedule, { signal, trigger }) => {
  const { config } = schedule;
  const lake = openStorage(config.lakeRoot, storageOptionsFrom(config));
  try {
    return await new Pipeline(config, { lake }).runDetailed(schedule.mode, { signal, trigger });
  } finally {
    await lake.close();
  }
};
