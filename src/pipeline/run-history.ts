/** Pipeline run records, one JSON object per run under `_sluice/<env>/runs/` (`Lake.internal(env)`). */

import type { WrittenOutput } from '../lineage/index.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { Storage } from '../storage/types.ts';
import { writtenText } from './lineage.ts';

export interface StepRecord {
  step: 'ingest' | 'transform' | 'upload';
  status: 'ok' | 'failed' | 'skipped';
  durationMs: number;
  rows: number;
  bytes: number;
  files: number;
  errors: string[];
  note?: string;
}

export interface RunRecord {
  id: string;
  mode: string;
  env: string;
  username: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  success: boolean;
  /** What started the run (`schedule nightly`); absent when started by hand or by the library. */
  trigger?: string;
  steps: StepRecord[];
  error?: { code: string; message: string };
}

const PREFIX = 'runs/';

/** Where a run's record is, in `Lake.internal(env)`. */
export function runKey(id: string): string {
  return `${PREFIX}${id}.json`;
}

/** Writes the run's record; returns what was written (for its lineage commit). */
export async function saveRun(envStore: Storage, run: RunRecord): Promise<WrittenOutput> {
  const text = JSON.stringify(run, null, 2);
  await envStore.put(runKey(run.id), text, { contentType: CONTENT_TYPES.json });
  return writtenText(text);
}

/**
 * The latest runs first; keeps only `keep` records, deleting older ones (`beforeDelete` hears of
 * them first: the lineage's delete records are durable before the files go).
 */
export async function listRuns(
  envStore: Storage,
  limit = 20,
  keep = 100,
  beforeDelete?: (keys: string[]) => Promise<void>,
): Promise<RunRecord[]> {
  const keys: string[] = [];
  for await (const e of envStore.list({ prefix: PREFIX })) if (e.type === 'object') keys.push(e.key);
  keys.sort().reverse();
  if (keys.length > keep) {
    await beforeDelete?.(keys.slice(keep));
    await envStore.deleteMany(keys.slice(keep));
  }
  const runs: RunRecord[] = [];
  for (const k of keys.slice(0, limit)) {
    try {
      runs.push(JSON.parse((await envStore.get(k)).toString('utf8')) as RunRecord);
    } catch {
      // A record deleted between list and get is not an error for a status view.
    }
  }
  return runs;
}
