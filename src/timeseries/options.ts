/** Store options: defaults merged once and validated, naming the option and the bad value. */

import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../errors.ts';
import { lineageEnabled } from '../lineage/grouped.ts';
import { parseStorageUrl } from '../storage/open.ts';
import type { ProgressFn } from '../util/progress.ts';
import { canonicalStoreUrl, legacyStoreDigest, storeDigest } from './store-url.ts';
import type { TimeSeriesStoreOptions } from './types.ts';

export type Resolved = Required<
  Omit<TimeSeriesStoreOptions, 'storage' | 'storageInstance' | 'walDir' | 'lease' | 'onReplayProgress'>
> & {
  onReplayProgress: ProgressFn | undefined;
  walDir: string;
  /**
   * Where an S3 store's log was kept before store identities were canonical (keyed on the URL as
   * typed), when that differs from `walDir`: moved to `walDir` on open (legacy-log.ts).
   */
  legacyWalDir: string | undefined;
  /** Where the compaction lease is kept beyond this host: a Redis URL, or undefined. */
  lease: string | undefined;
  /** The store's canonical identity (store-url.ts). */
  identity: string;
};

export function resolveOptions(url: string, o: TimeSeriesStoreOptions): Resolved {
  const num = (
    name: keyof TimeSeriesStoreOptions,
    v: number | undefined,
    def: number,
    min: number,
    max: number,
  ) => {
    const x = v ?? def;
    if (!Number.isFinite(x) || x < min || x > max) {
      throw new ValidationError(`Option ${name} must be between ${min} and ${max}, got ${String(v)}`, {
        context: { option: name },
      });
    }
    return x;
  };
  if (o.durability !== undefined && o.durability !== 'fsync' && o.durability !== 'os') {
    throw new ValidationError(
      `Option durability must be 'fsync' or 'os', got ${JSON.stringify(o.durability)}`,
    );
  }
  const parsed = parseStorageUrl(url);
  const walDir =
    o.walDir ??
    (parsed.kind === 'fs'
      ? path.join(parsed.root, 'wal')
      : path.join(os.homedir(), '.cache', 'sluice', 'ts-wal', storeDigest(url)));
  return {
    durability: o.durability ?? 'fsync',
    groupCommitMs: num('groupCommitMs', o.groupCommitMs, 0, 0, 1000),
    groupCommitBytes: num('groupCommitBytes', o.groupCommitBytes, 4 << 20, 1, 1 << 30),
    walSegmentBytes: num('walSegmentBytes', o.walSegmentBytes, 64 << 20, 1024, 2 ** 31),
    readOnly: o.readOnly ?? false,
    create: (o.create ?? true) && !o.readOnly,
    readWalTail: o.readWalTail ?? true,
    keepDuplicates: o.keepDuplicates ?? false,
    compactIntervalMs: num('compactIntervalMs', o.compactIntervalMs, 60_000, 0, 2 ** 31 - 1),
    compactPoints: num('compactPoints', o.compactPoints, 1_000_000, 0, 2 ** 40),
    compactBytes: num('compactBytes', o.compactBytes, 16 << 20, 0, 2 ** 40),
    partitionMs: num('partitionMs', o.partitionMs, 86_400_000, 1000, 366 * 86_400_000),
    walDir,
    legacyWalDir:
      o.walDir === undefined && parsed.kind === 's3' && legacyStoreDigest(url) !== storeDigest(url)
        ? path.join(os.homedir(), '.cache', 'sluice', 'ts-wal', legacyStoreDigest(url))
        : undefined,
    lease: o.lease ?? (process.env.SLUICE_TS_LEASE || undefined),
    lineage: o.lineage ?? lineageEnabled(),
    identity: canonicalStoreUrl(url),
    onReplayProgress: o.onReplayProgress,
  };
}
