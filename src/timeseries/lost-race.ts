/**
 * Writers that publish by compare-and-swap. Where the store's storage decides conditional writes
 * atomically (S3 that honours If-Match, probed by storage/drivers/s3/conditional-probe.ts), writers
 * on several hosts need no shared lease: each compacts on the manifest it read and publishes only
 * if the manifest is still that one. The one that loses publishes nothing, drops the segments it
 * wrote, keeps its log, and does the run again on the new manifest.
 *
 * Without a shared lease, one thing the lease gave must be kept another way: a writer opening the
 * store removes segments no manifest names, and another host's run in flight has such segments.
 * So without a shared lease only segments older than ORPHAN_MIN_AGE_MS are removed, and a run
 * that took longer than MAX_RUN_MS (half of it, leaving room for clock skew between hosts) does
 * not publish: its segments could already have been taken for orphans.
 */
import { LockError, NotFoundError } from '../errors.ts';
import type { LeaseGuard } from './compaction-lease.ts';
import { type Manifest, ManifestRaceError, manifestEtag } from './manifest.ts';
import type { SegmentFiles } from './segments.ts';

/** Runs of one compaction (or retention) before a lost race is reported instead of retried. */
export const RACE_ATTEMPTS = 8;
/** Segments younger than this are never taken for orphans by a writer without a shared lease. */
export const ORPHAN_MIN_AGE_MS = 60 * 60_000;
/** A run without a shared lease that took longer than this publishes nothing. */
export const MAX_RUN_MS = ORPHAN_MIN_AGE_MS / 2;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits before run `attempt` + 1: random, growing, so racing writers fall out of step. */
export function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(2_000, 25 * 2 ** attempt);
  return sleep(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Whether `error` ended a run because another writer published first: a refused publish, or a
 * segment of the manifest the run read that the winner has since replaced and deleted.
 */
export async function lostRace(error: unknown, read: Manifest, segments: SegmentFiles): Promise<boolean> {
  if (error instanceof ManifestRaceError) return true;
  if (!(error instanceof NotFoundError)) return false;
  const etag = manifestEtag(read);
  if (etag === undefined) return false;
  const now = await segments.loadManifest().catch(() => undefined);
  return now !== undefined && manifestEtag(now) !== etag;
}

/** `guard`, which also fails a run that has gone on longer than MAX_RUN_MS (see the module comment). */
export function timedGuard(guard: LeaseGuard, store: string, startedAt = Date.now()): LeaseGuard {
  return {
    async assertHeld() {
      await guard.assertHeld();
      const ms = Date.now() - startedAt;
      if (ms > MAX_RUN_MS)
        throw new LockError(
          `Time-series store ${store}: a compaction ran ${Math.round(ms / 1000)} s, longer than the ${MAX_RUN_MS / 60_000} minutes a writer without a shared lease may take (another writer may have removed its new segments as orphans); it publishes nothing and its points stay in the log`,
          { context: { ms } },
        );
    },
  };
}
