/**
 * Creating stamped files that never overwrite: `<source>/<dataset>/<dataset>_<stamp>[-n].<ext>`.
 * On storages with atomic create-if-absent (local disk, memory) the first free sequence suffix
 * wins, so two processes saving in the same millisecond get `…Z.json` and `…Z-1.json`; on S3
 * (no atomic create) a random suffix makes collisions practically impossible.
 */
import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, IngestError, SluiceError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import type { Storage } from '../storage/types.ts';
import { describeKey, type SavedFile } from './base.ts';
import { sha256Of } from './lineage.ts';
import { formatStamp, stampedName } from './stamp.ts';

const MAX_SEQ = 10_000;
// Where the last save in this process landed, so a tight loop does not retry every taken name.
const nextSeq = new Map<string, number>();

export interface CreateStampedOptions {
  contentType?: string;
  signal?: AbortSignal;
  /**
   * Called with each key chosen, before the exclusive create that would make it visible (lineage
   * records its intent there, so no file exists without its record). The key is chosen first
   * because the create picks it: when the create loses to another writer of the same name, the
   * intent is aborted (`lost`) and the next key gets an intent of its own. Losing needs two saves
   * in one millisecond, so a save costs one intent; recording after the create would leave a
   * window where a file exists without a record, and writing under a temp name first would cost
   * a second rename per save.
   */
  beforeCreate?: (key: string) => Promise<CreateOutcome>;
}

/** What `beforeCreate` is told once the create of its key is done. */
export interface CreateOutcome {
  created(): void;
  lost(error: unknown): void;
}

const NO_OUTCOME: CreateOutcome = { created: () => {}, lost: () => {} };

/** Writes `body` under a fresh stamped name in `dir`; returns the saved file and its stamp suffix. */
export async function createStamped(
  storage: Storage,
  dir: string,
  dataset: string,
  date: Date,
  ext: string,
  body: Buffer,
  options: CreateStampedOptions = {},
): Promise<SavedFile & { name: string; suffix: string; sha256: string }> {
  const stamp = formatStamp(date);
  const sha256 = sha256Of(body);
  const putOptions = {
    ifNotExists: true,
    // On disk a content type costs a sidecar file per save and the extension says it anyway.
    ...(options.contentType && !storage.capabilities.localFiles ? { contentType: options.contentType } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const before = options.beforeCreate ?? (async () => NO_OUTCOME);
  const create = async (key: string) => {
    const outcome = await before(key);
    try {
      const result = await storage.put(key, body, putOptions);
      outcome.created();
      return result;
    } catch (error) {
      outcome.lost(error);
      throw error;
    }
  };
  try {
    if (!storage.capabilities.atomicCreate) {
      const suffix = `r${randomBytes(6).toString('hex')}`;
      const name = stampedName(dataset, stamp, suffix, ext);
      const result = await create(`${dir}/${name}`);
      return { ...describeKey(storage, result.key, result.size), name, suffix, sha256 };
    }
    const memo = `${storage.url}|${dir}|${dataset}|${stamp}|${ext}`;
    if (nextSeq.size > 1000) nextSeq.clear();
    for (let attempt = 0; attempt < MAX_SEQ; attempt++) {
      // Claimed before the create's await: concurrent saves in this process take distinct names
      // instead of all trying the same one (each loser would cost a lineage intent).
      const seq = nextSeq.get(memo) ?? 0;
      if (seq >= MAX_SEQ) break;
      nextSeq.set(memo, seq + 1);
      const suffix = seq === 0 ? '' : String(seq);
      const name = stampedName(dataset, stamp, suffix, ext);
      try {
        const result = await create(`${dir}/${name}`);
        return { ...describeKey(storage, result.key, result.size), name, suffix, sha256 };
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    throw new IngestError(`No free name for ${dir}/${dataset}_${stamp}.${ext} after ${MAX_SEQ} attempts`, {
      context: { dir, stamp },
    });
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    throw new IngestError(`Cannot save ${dir}/${dataset}_${stamp}.${ext}: ${(error as Error).message}`, {
      cause: error,
      context: { dir },
    });
  } finally {
    getLogger().debug({ dir, dataset, stamp }, 'ingest save');
  }
}
