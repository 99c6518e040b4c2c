/**
 * One-way sync between any two storages. An object is changed when its size or its sha256
 * differs; sha256 comes from a local cache, then object metadata (sluice stores it on every
 * upload), and is computed from the bytes only when both are absent — so regenerated-but-
 * identical files are not uploaded again, and a no-op sync costs two listings. Each object is
 * put atomically and remembered as it lands, so an interrupted sync resumes where it stopped.
 * Reads are verified and transient faults retried, then deferred (copy.ts).
 */
import { stat } from 'node:fs/promises';
import pLimit from 'p-limit';
import picomatch from 'picomatch';
import { isTransient, NotFoundError, SyncError, toSluiceError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import type { Storage } from '../storage/types.ts';
import { readFaultOf } from '../storage/verified-read.ts';
import type { ProgressFn } from '../util/progress.ts';
import {
  copyWithRetries,
  type Deferred,
  deferredError,
  type Entry,
  hashOf,
  localMtime,
  type RetryPolicy,
  retryPolicy,
  withRetries,
} from './copy.ts';
import { defaultCacheDir, HashCache } from './hash-cache.ts';
import { comparing, SyncProgress } from './progress.ts';

export interface SyncOptions {
  /** Only keys matching one of these globs (picomatch; a pattern without `/` matches the base name). @default all */
  include?: string[];
  /** Skip keys matching any of these globs, on both sides (excluded targets are never deleted). @default none */
  exclude?: string[];
  /** Delete target objects that the source does not have. @default false */
  delete?: boolean;
  /** Refuse (SyncError E070, nothing changed) when more than this many deletions are due. @default unlimited */
  maxDelete?: number;
  /** Compute what would change and change nothing. @default false */
  dryRun?: boolean;
  /** Objects transferred or hashed at once. @default 32 */
  concurrency?: number;
  /** Where sha256 caches live; false for none. @default $SLUICE_CACHE_DIR or ~/.cache/sluice/sync */
  cacheDir?: string | false;
  /** Bodies up to this size are read into memory and sent in one request (below the S3 multipart threshold). @default 16 MiB */
  bufferLimit?: number;
  /**
   * Attempts per object when a failure is transient (connection reset, a body that breaks, ends
   * short or stalls, an object rewritten since it was listed, timeouts, 5xx, throttling), the
   * first included. After them the object is deferred: its target is left as it was (the old
   * version, or nothing), the other objects are still copied, and the sync ends with E070
   * (transient) naming each deferred key. @default 3
   */
  transientAttempts?: number;
  /** Delay before the first retry; doubled per retry (at most 10 s), with jitter. @default 500 */
  retryDelayMs?: number;
  /** A read that receives no bytes for this long is a transient fault (stalled). @default 60000 */
  readIdleTimeoutMs?: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface SyncDiff {
  srcOnly: string[];
  dstOnly: string[];
  modified: string[];
  unchanged: string[];
}

export interface SyncResult {
  dryRun: boolean;
  /** Keys written to the target (new and modified). */
  uploaded: string[];
  deleted: string[];
  unchanged: number;
  bytes: number;
  /** Retries after transient failures (reads, writes and compare reads). */
  retries: number;
  diff: SyncDiff;
}

/**
 * Globs as aws/rclone users expect: a pattern with a `/` matches the whole key, one without
 * matches the base name at any depth (`*.tmp`). picomatch's own basename mode breaks the former.
 */
export function globMatcher(patterns: string[]): (key: string) => boolean {
  const full = patterns.filter((p) => p.includes('/'));
  const base = patterns.filter((p) => !p.includes('/'));
  const f = full.length ? picomatch(full, { dot: true }) : undefined;
  const b = base.length ? picomatch(base, { dot: true, basename: true }) : undefined;
  return (key) => (f?.(key) ?? false) || (b?.(key) ?? false);
}

function matcher(options: SyncOptions): (key: string) => boolean {
  const inc = options.include?.length ? globMatcher(options.include) : undefined;
  const exc = options.exclude?.length ? globMatcher(options.exclude) : undefined;
  return (key) => (!inc || inc(key)) && !(exc?.(key) ?? false);
}

async function listing(
  store: Storage,
  keep: (k: string) => boolean,
  cache: Promise<HashCache>,
  signal?: AbortSignal,
): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  // Keys the last sync saw let a remote store ask for its listing pages at once (a local folder
  // lists without round trips). The listing starts while the cache still loads.
  const expectedKeys = store.capabilities.localFiles ? undefined : cache.then((c) => c.sortedKeys());
  for await (const e of store.list({
    ...(signal ? { signal } : {}),
    ...(expectedKeys ? { expectedKeys } : {}),
  })) {
    // The list entry itself (it has every Entry field): no copy per object.
    if (e.type === 'object' && keep(e.key)) out.set(e.key, e);
  }
  return out;
}

/**
 * Runs tasks `concurrency` at a time. After the first failure (or an abort) no new task starts;
 * the ones in flight finish, then the first error is thrown — nothing keeps running behind the
 * caller's back.
 */
async function runLimited(
  tasks: (() => Promise<void>)[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  const limit = pLimit(concurrency);
  let failure: { error: unknown } | undefined;
  await Promise.all(
    tasks.map((task) =>
      limit(async () => {
        if (failure) return;
        try {
          signal?.throwIfAborted();
          await task();
        } catch (error) {
          failure ??= { error };
        }
      }),
    ),
  );
  if (failure) throw failure.error;
}

interface Prepared {
  diff: SyncDiff;
  src: Map<string, Entry>;
  dst: Map<string, Entry>;
  srcCache: HashCache;
  dstCache: HashCache;
}

/**
 * A local source folder that does not exist is a mistake (a typo), not an empty tree: read as
 * empty, a sync with `delete` would empty the target. aws and rclone refuse it too.
 */
async function assertSourceExists(src: Storage): Promise<void> {
  if (src.kind !== 'fs' || !src.url.startsWith('file://')) return;
  const dir = src.url.slice('file://'.length);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new NotFoundError(`Sync source ${dir} does not exist or is not a folder; nothing was changed`, {
      context: { source: dir },
    });
  }
}

/**
 * Whether two versions hold the same bytes. A side rewritten since it was listed counts as
 * modified at once (only a new listing could read the listed version): the copy reads the
 * source as it is then, verified.
 */
async function sameContent(sides: [Storage, HashCache, Entry][], policy: RetryPolicy): Promise<boolean> {
  const hashes = await Promise.all(
    sides.map(([store, cache, e]) =>
      withRetries(policy, e.key, () =>
        hashOf(store, cache, e, policy).catch((error: unknown) => {
          if (readFaultOf(error) === 'changed') return undefined;
          throw error;
        }),
      ),
    ),
  );
  return hashes[0] !== undefined && hashes[0] === hashes[1];
}

async function prepare(
  src: Storage,
  dst: Storage,
  options: SyncOptions,
  policy: RetryPolicy,
): Promise<Prepared> {
  await assertSourceExists(src);
  const keep = matcher(options);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const srcCaching = HashCache.open(src.url, cacheDir);
  const dstCaching = HashCache.open(dst.url, cacheDir);
  const [srcMap, dstMap, srcCache, dstCache] = await Promise.all([
    listing(src, keep, srcCaching, options.signal),
    listing(dst, keep, dstCaching, options.signal),
    srcCaching,
    dstCaching,
  ]);
  const diff: SyncDiff = { srcOnly: [], dstOnly: [], modified: [], unchanged: [] };
  const compare: (() => Promise<void>)[] = [];
  for (const [key, s] of srcMap) {
    const d = dstMap.get(key);
    if (!d) diff.srcOnly.push(key);
    else if (d.size !== s.size) diff.modified.push(key);
    else {
      // Both hashes cached (every unchanged file of a repeated sync): no task, no promise.
      const a = srcCache.get(key, s.etag, s.size, localMtime(src, s));
      const b = a && dstCache.get(key, d.etag, d.size, localMtime(dst, d));
      if (a && b) {
        (a === b ? diff.unchanged : diff.modified).push(key);
        continue;
      }
      compare.push(async () => {
        const same = await sameContent(
          [
            [src, srcCache, s],
            [dst, dstCache, d],
          ],
          policy,
        );
        (same ? diff.unchanged : diff.modified).push(key);
      });
    }
  }
  await runLimited(comparing(compare, options.onProgress), options.concurrency ?? 32, options.signal);
  for (const key of dstMap.keys()) if (!srcMap.has(key)) diff.dstOnly.push(key);
  for (const list of Object.values(diff)) list.sort();
  return { diff, src: srcMap, dst: dstMap, srcCache, dstCache };
}

/** What a sync would do: source-only, target-only, modified and unchanged keys. */
export async function diffStorages(src: Storage, dst: Storage, options: SyncOptions = {}): Promise<SyncDiff> {
  const p = await prepare(src, dst, options, retryPolicy(options, logRetry));
  await Promise.all([p.srcCache.save(src.url), p.dstCache.save(dst.url)]);
  return p.diff;
}

/** Makes `dst` hold what `src` holds (under the filters); see SyncOptions. */
export async function syncStorages(
  src: Storage,
  dst: Storage,
  options: SyncOptions = {},
): Promise<SyncResult> {
  let retries = 0;
  const policy = retryPolicy(options, (...args) => {
    retries += 1;
    logRetry(...args);
  });
  const p = await prepare(src, dst, options, policy);
  const toCopy = [...p.diff.srcOnly, ...p.diff.modified].sort();
  const toDelete = options.delete ? p.diff.dstOnly : [];
  if (options.maxDelete !== undefined && toDelete.length > options.maxDelete) {
    throw new SyncError(
      `Sync would delete ${toDelete.length} objects from ${dst.url}, more than --max-delete ${options.maxDelete}; nothing was changed`,
      {
        context: { wouldDelete: toDelete.length, maxDelete: options.maxDelete, first: toDelete.slice(0, 10) },
      },
    );
  }
  const result: SyncResult = {
    dryRun: options.dryRun ?? false,
    uploaded: [],
    deleted: [],
    unchanged: p.diff.unchanged.length,
    bytes: 0,
    retries: 0,
    diff: p.diff,
  };
  if (result.dryRun) {
    result.retries = retries;
    result.uploaded = toCopy;
    result.deleted = toDelete;
    result.bytes = toCopy.reduce((s, k) => s + (p.src.get(k)?.size ?? 0), 0);
    return result;
  }
  const progress = new SyncProgress(
    options.onProgress,
    toCopy.reduce((s, k) => s + (p.src.get(k)?.size ?? 0), 0),
  );
  const job = {
    src,
    dst,
    srcCache: p.srcCache,
    dstCache: p.dstCache,
    bufferLimit: options.bufferLimit ?? 16 * 1024 * 1024,
    ...(progress.onBytes ? { onBytes: progress.onBytes } : {}),
  };
  const deferred: Deferred[] = [];
  let saving: Promise<void> | undefined;
  progress.emit();
  try {
    await runLimited(
      toCopy.map((key) => async () => {
        const s = p.src.get(key) as Entry;
        let size: number;
        try {
          size = await copyWithRetries(job, s, policy);
        } catch (error) {
          // Retries spent on a transient fault: the target keeps what it had; the others go on.
          progress.dropped(key);
          if (isTransient(error) && !options.signal?.aborted) {
            const e = toSluiceError(error);
            deferred.push({ key, code: e.code, reason: e.message });
            return;
          }
          throw new SyncError(
            `Cannot copy ${key} from ${src.url} to ${dst.url}: ${toSluiceError(error).message}`,
            {
              cause: error,
              context: { key, retryable: toSluiceError(error).context.retryable === true },
            },
          );
        }
        result.uploaded.push(key);
        result.bytes += size;
        progress.copiedObject(key, size);
        if (p.dstCache.pending >= 200 && !saving) {
          saving = p.dstCache.save(dst.url).finally(() => {
            saving = undefined;
          });
        }
      }),
      options.concurrency ?? 32,
      options.signal,
    );
    if (toDelete.length > 0) {
      await dst.deleteMany(toDelete);
      for (const k of toDelete) p.dstCache.delete(k);
      result.deleted = toDelete;
    }
    if (deferred.length === 0) progress.finished();
  } finally {
    await saving;
    await Promise.all([p.srcCache.save(src.url), p.dstCache.save(dst.url)]);
  }
  result.retries = retries;
  if (deferred.length > 0) {
    throw deferredError(src, dst, deferred, {
      copied: result.uploaded.length,
      deleted: result.deleted.length,
      attempts: policy.attempts,
    });
  }
  result.uploaded.sort();
  return result;
}

function logRetry(error: unknown, key: string, attempt: number, delayMs: number): void {
  getLogger().warn(
    { key, attempt, delayMs: Math.round(delayMs), err: toSluiceError(error).message },
    'sync: transient failure, retrying',
  );
}
