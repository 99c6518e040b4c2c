/**
 * `verifyLineage`: re-hashes every output a storage's lineage log names and says which no longer
 * hold the bytes their record promises. What a crash explains is told apart from what it does not:
 * - `changed`: the bytes differ from the last committed write and no later write was under way
 *   (edited, truncated, swapped) — corruption;
 * - `missing`: a committed output is gone and no sluice operation deleted it — corruption;
 * - `never-landed`: an intent whose output never appeared (a crash or failure before the write);
 * - `unconfirmed`: the bytes match no commit but a later write was begun and never confirmed
 *   (a crash between writing the output and recording its hash).
 */
import { NotFoundError } from '../errors.ts';
import { sha256File, sha256Stream } from '../storage/content-hash.ts';
import type { Storage } from '../storage/types.ts';
import { outputUrl } from './log.ts';
import { currentWrite, type LineageIndex, readLineage } from './read.ts';

export type VerifyStatus = 'ok' | 'changed' | 'missing' | 'never-landed' | 'unconfirmed' | 'deleted';

export interface VerifiedOutput {
  output: string;
  status: VerifyStatus;
  /** What the last commit recorded, when there is one. */
  expected?: string;
  /** What the bytes hash to now, when they exist. */
  actual?: string;
}

export interface VerifyReport {
  outputs: VerifiedOutput[];
  /** Outputs whose state no crash explains (`changed`, `missing`): `lineage verify` exits 1. */
  corrupt: VerifiedOutput[];
}

const CORRUPT: ReadonlySet<VerifyStatus> = new Set(['changed', 'missing']);

export async function verifyLineage(storage: Storage, index?: LineageIndex): Promise<VerifyReport> {
  const log = index ?? (await readLineage(storage));
  const prefix = outputUrl(storage, '');
  const outputs: VerifiedOutput[] = [];
  for (const [output, writes] of log.byOutput) {
    if (!output.startsWith(prefix)) continue; // recorded here, stored elsewhere: that storage verifies it
    const key = output.slice(prefix.length);
    const committed = currentWrite(log, output);
    const last = writes[writes.length - 1];
    // A write begun no earlier than the committed one and never confirmed explains other bytes.
    // (Compared by time, not by position: two sessions' intents in one millisecond sort by id.)
    const unconfirmedLater = writes.some(
      (w) => w !== committed && !w.commit && !w.aborted && (!committed || w.intent.at >= committed.intent.at),
    );
    const deleted = log.deletedAt.get(output);
    const actual = await hashOf(storage, key);
    const expected = committed?.commit?.sha256;
    let status: VerifyStatus;
    if (actual === undefined) {
      if (deleted !== undefined && (!last || deleted >= last.intent.at)) status = 'deleted';
      else status = committed ? 'missing' : 'never-landed';
    } else if (actual === expected) status = 'ok';
    else if (unconfirmedLater || !committed) status = 'unconfirmed';
    else status = 'changed';
    outputs.push({
      output,
      status,
      ...(expected === undefined ? {} : { expected }),
      ...(actual === undefined ? {} : { actual }),
    });
  }
  outputs.sort((a, b) => a.output.localeCompare(b.output));
  return { outputs, corrupt: outputs.filter((o) => CORRUPT.has(o.status)) };
}

/** sha256 of the object's bytes now; undefined when it does not exist (or vanished while read). */
async function hashOf(storage: Storage, key: string): Promise<string | undefined> {
  try {
    if (storage.capabilities.localFiles && storage.localPath) return await sha256File(storage.localPath(key));
    return await sha256Stream(await storage.getStream(key));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || error instanceof NotFoundError) return undefined;
    throw error;
  }
}
