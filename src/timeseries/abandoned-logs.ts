/**
 * Logs whose writer is gone. A writer that stops (or is killed) before compacting leaves its
 * points in its slot's log; a writer opening takes one such slot as its own, but a store can have
 * several (four short `sluice ts append` runs at once leave four). So a writer's open also
 * compacts every other abandoned log it can take, under the lease and as that slot's writer id,
 * then removes the log files it compacted: no acknowledged point waits for a writer that may
 * never come back to that slot.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { getLogger } from '../logging/logger.ts';
import { PointBuffers } from './buffers.ts';
import { type CompactionState, compactBuffers } from './compact.ts';
import { alsoChecking, type LeaseGuard } from './compaction-lease.ts';
import { compactedSeqOf } from './manifest.ts';
import { Provenance, recordedSources } from './provenance.ts';
import type { StoreLineage } from './segment-lineage.ts';
import { readWal } from './wal-files.ts';
import { hasLog, listSlots, takeIfAbandoned } from './writer-slots.ts';

/** The store's lineage with the sources recorded for an abandoned log's files (provenance.ts). */
async function sourcesOf(
  state: CompactionState,
  slotDir: string,
  files: readonly string[],
): Promise<StoreLineage | undefined> {
  if (!state.lineage) return undefined;
  const provenance = new Provenance();
  try {
    provenance.noteRecovered(await recordedSources(state.lineage.storage, slotDir, files));
  } catch (error) {
    getLogger().warn(
      { err: error, store: state.url },
      'cannot read the lineage records of an abandoned log: its points get segments without their sources',
    );
  }
  provenance.freeze();
  const lineage = state.lineage.withProvenance(provenance);
  lineage.logs.adopt(files);
  return lineage;
}

/** Compacts the abandoned logs under `walRoot` other than `ownDir`; returns how many points. */
export async function compactAbandonedLogs(
  state: CompactionState,
  ownDir: string,
  underLease: <T>(fn: (guard: LeaseGuard) => Promise<T>) => Promise<T>,
): Promise<number> {
  let points = 0;
  for (const slot of await listSlots(state.options.walDir)) {
    if (slot.dir === ownDir || !(await hasLog(slot.dir))) continue;
    const held = await takeIfAbandoned(slot);
    if (!held) continue; // its writer is alive: it compacts its own points
    try {
      const wal = await readWal(slot.dir, true);
      const files = wal.files.map((f) => path.join(slot.dir, f.name));
      const lineage = await sourcesOf(state, slot.dir, files);
      points += await underLease(async (guard) => {
        const covered = compactedSeqOf(state.manifest, slot.id);
        const buffers = new PointBuffers();
        let last = covered;
        for (const b of wal.batches) {
          last = Math.max(last, b.firstSeq + b.count - 1);
          if (b.firstSeq + b.count - 1 > covered) buffers.apply(b, covered);
        }
        if (last <= covered) return 0;
        const compacting = lineage ? { ...state, lineage } : state;
        const slotGuard = alsoChecking(guard, () => held.assertHeld());
        try {
          return (await compactBuffers(compacting, buffers.active, last, slot.id, slotGuard)).points;
        } finally {
          // The run publishes into `compacting` (a copy, with the log's lineage): the store reads
          // the manifest it published, or this writer would not see these points until its own
          // next compaction re-read it.
          state.manifest = compacting.manifest;
        }
      });
      // Everything in these files is in segments now (or was before): they can go.
      for (const f of files) await fsp.rm(f, { force: true });
      await lineage?.logs.dropped();
    } finally {
      await held.release();
    }
  }
  return points;
}
