/**
 * An object replaced under the poller: a producer wrote a new version of the key (a new ETag)
 * after it was listed. Its read or its archive move, made with `ifMatch` the listed ETag, is then
 * refused (E015), and the poller leaves the new version for the next poll rather than reading
 * another version than it recorded or archiving and deleting one it never read.
 */
import { type SluiceError, StorageError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import type { Storage } from '../storage/types.ts';

/** The version the poller listed, and read. */
export interface Listed {
  key: string;
  etag: string;
}

/**
 * Whether `error`, from a move of the listed version, says another version took the key: E015,
 * and the key is indeed gone or at another ETag now. A refusal while the key still holds the
 * listed version would mark it done and leave it in place, never archived: that is a transient
 * failure instead, tried again.
 */
export async function isReplaced(storage: Storage, entry: Listed, error: unknown): Promise<boolean> {
  if ((error as SluiceError | undefined)?.code !== 'E015') return false;
  const now = await storage.stat(entry.key).then(
    (info) => info.etag,
    (statError: SluiceError) => {
      if (statError.code === 'E011') return null;
      throw statError;
    },
  );
  if (now !== entry.etag) return true;
  throw new StorageError(
    `${storage.url}: ${entry.key} was refused as changed though it is still at ETag ${entry.etag}; trying again`,
    { cause: error, context: { key: entry.key, retryable: true } },
  );
}

/**
 * A read that found the listed version gone (E011) or replaced (E015): logged, and true, for the
 * caller to skip it without counting a failure; the next listing sees what is there now.
 */
export function vanishedSinceListed(entry: Listed, error: unknown): boolean {
  const code = (error as SluiceError | undefined)?.code;
  if (code === 'E011') getLogger().info({ key: entry.key }, 'object gone since it was listed');
  else if (code === 'E015')
    getLogger().info(
      { key: entry.key, etag: entry.etag },
      'object replaced since it was listed: left for the next poll, which reads the new version',
    );
  return code === 'E011' || code === 'E015';
}
