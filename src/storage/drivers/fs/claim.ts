/**
 * Conditional delete and move on local disk (`ifMatch`), where no system call compares a file
 * with a version before it renames or removes it. The file is first taken away from its name:
 *
 * 1. a stat of the name: another version is E015 at once, nothing touched;
 * 2. a rename to a hidden claim name beside it (`.<name>.<random>.claim.sluice-tmp`, which
 *    listings skip): from then on no writer can change the file held;
 * 3. the claimed file's ETag: the version expected, and the caller removes it (delete) — or
 *    another writer replaced the file between 1 and 2, a window of two system calls. Then that
 *    version is put back with link(), which refuses if a newer put took the name meanwhile (that
 *    put would have replaced it anyway, so it is dropped), and the caller gets E015.
 *
 * What is left: only in that race, and only between 2 and the link, the name is briefly absent (a
 * reader sees no object, a create-if-absent could succeed), and a crash there leaves the other
 * writer's version under the claim name, where `collectGarbage` later removes temp files.
 *
 * A move first links the file to a claim name and checks that (a second name for the version
 * expected, or E015 with nothing touched), renames it to the target, and then removes the source
 * as a delete does: a crash in between leaves the object in both places, never in none.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, StorageError } from '../../../errors.ts';
import { makeDirectory, syncDirectory } from '../../../util/fsync-dir.ts';
import { preconditionFailed } from '../../conditions.ts';
import { TEMP_SUFFIX } from '../../keys.ts';
import { type FsContext, fileOf } from './context.ts';
import { mapFsError } from './errors.ts';
import { etagOf } from './list.ts';
import { unlinkQuietly } from './meta-files.ts';

/**
 * The moments another writer can slip in, for tests that replace the file there: `checked` after
 * the stat of the name, `claimed` after the rename to the claim name, `moved` (a move) once the
 * version is at its target, before the source is removed.
 */
export type ClaimMoment = 'checked' | 'claimed' | 'moved';
export type ClaimRace = (moment: ClaimMoment) => Promise<void>;

/** A hidden name beside `file` that listings and writers never use, and gc knows as sluice's. */
function claimPathBeside(file: string): string {
  const random = randomBytes(6).toString('hex');
  return path.join(path.dirname(file), `.${path.basename(file)}.${random}.claim${TEMP_SUFFIX}`);
}

/** The file at `file` as an object: undefined when there is none (absent, or a folder). */
async function statObject(file: string): Promise<Stats | undefined> {
  try {
    const st = await fsp.lstat(file);
    return st.isFile() ? st : undefined;
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'ENOENT' ||
      (error as NodeJS.ErrnoException).code === 'ENOTDIR'
    )
      return undefined;
    throw error;
  }
}

/** Throws E015 unless `st` (the file now at `key`, or none) is the version `expected`. */
function mustBe(file: string, key: string, expected: string, st: Stats, operation: string): void {
  const actual = etagOf(st);
  if (actual !== expected) throw preconditionFailed(file, key, expected, actual, undefined, operation);
}

/**
 * Steps 1–3 above: the claim of `key`'s file at `expected`, or undefined when there is no file
 * to take (gone before or during the claim). Throws E015 (the file back under its name, unless a
 * newer one holds it) when it is another version.
 */
async function claimIfMatch(
  ctx: FsContext,
  key: string,
  expected: string,
  operation: string,
  race?: ClaimRace,
): Promise<{ claim: string; st: Stats } | undefined> {
  const file = fileOf(ctx, key);
  const now = await statObject(file);
  if (!now) return undefined;
  mustBe(file, key, expected, now, operation);
  await race?.('checked');
  const claim = claimPathBeside(file);
  try {
    await fsp.rename(file, claim);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  await race?.('claimed');
  const st = await fsp.lstat(claim);
  if (etagOf(st) === expected) return { claim, st };
  // Another writer's version: back under its name, unless a newer put holds the name by now.
  await fsp.link(claim, file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return;
    // Kept where it is rather than lost: the message says where.
    throw new StorageError(`Cannot put ${file} back from ${claim}, where it stays: ${error.message}`, {
      cause: error,
      context: { key, path: file, claim },
    });
  });
  await fsp.unlink(claim);
  if (ctx.durable) await syncDirectory(path.dirname(file));
  throw preconditionFailed(file, key, expected, etagOf(st), undefined, operation);
}

/** Removes `key`'s sidecar only if it describes the removed file (a newer put may have its own). */
async function removeSidecarOf(ctx: FsContext, key: string, st: Stats): Promise<void> {
  if (await ctx.sidecars.read(key, fileOf(ctx, key), st)) await ctx.sidecars.remove(key);
}

/** Deletes `key` if it is at ETag `expected` (E015 if not); gone already is success. */
export async function deleteIfMatch(
  ctx: FsContext,
  key: string,
  expected: string,
  race?: ClaimRace,
  operation = 'delete',
): Promise<void> {
  try {
    const claimed = await claimIfMatch(ctx, key, expected, operation, race);
    if (!claimed) return;
    await fsp.unlink(claimed.claim);
    if (ctx.durable) await syncDirectory(path.dirname(claimed.claim));
    await removeSidecarOf(ctx, key, claimed.st);
  } catch (error) {
    throw mapFsError(error, ctx.root, key, 'delete');
  }
}

/**
 * Moves `fromKey` to `toKey` if it is at ETag `expected`: E015 with nothing moved when it is
 * another version; E015 with the version expected at `toKey` and the newer one left at `fromKey`
 * when another writer replaced it during the move; NotFoundError when there is nothing to move.
 */
export async function moveIfMatch(
  ctx: FsContext,
  fromKey: string,
  toKey: string,
  expected: string,
  race?: ClaimRace,
): Promise<void> {
  const from = fileOf(ctx, fromKey);
  const to = fileOf(ctx, toKey);
  const snapshot = claimPathBeside(from);
  try {
    const now = await statObject(from);
    if (!now)
      throw new NotFoundError(`No file at ${from} to move`, { context: { key: fromKey, path: from } });
    mustBe(from, fromKey, expected, now, 'move');
    if (from === to) return;
    await race?.('checked');
    // A second name for whatever the source is now, then checked: a version replaced since the
    // stat is refused without being touched.
    await fsp.link(from, snapshot);
    const st = await fsp.lstat(snapshot);
    mustBe(from, fromKey, expected, st, 'move');
    const sidecar = await ctx.sidecars.read(fromKey, from, st);
    await makeDirectory(path.dirname(to), ctx.durable);
    // rename keeps inode, size and mtime, so the sidecar written first stays bound to the moved file.
    if (sidecar) await ctx.sidecars.write(toKey, sidecar);
    else await ctx.sidecars.remove(toKey);
    await fsp.rename(snapshot, to);
    if (ctx.durable) await syncDirectory(path.dirname(to));
    await race?.('moved');
  } catch (error) {
    await unlinkQuietly(snapshot).catch(() => undefined);
    throw mapFsError(error, ctx.root, fromKey, 'move');
  }
  await deleteIfMatch(ctx, fromKey, expected, race, 'move');
}
