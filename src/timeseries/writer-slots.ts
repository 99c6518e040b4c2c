/**
 * Writer slots: each writer of a store has its own log folder and sequence space, so any number of
 * processes can append to one store at once. A slot is `<log root>/writers/<id>/` (plus the log
 * root itself, id '', where stores kept their one writer's log before), owned through its lock
 * folder `OWNER` (util/lock-folder.ts: its one entry names the holder's pid and host). A writer
 * opening takes a free slot — first one whose owner died with points not yet compacted, so those
 * are compacted by the next writer — or makes a new one.
 *
 * An owner is dead when its process is gone (same host) or its lock was not refreshed for
 * `STALE_MS` (another host sharing the folder): owners touch their lock every `HEARTBEAT_MS`.
 * Slots were owned through a `LOCK` file before (`<pid> <host>`, created exclusively): a taker
 * that read it while its creator had not yet written the text saw no owner, broke it and took the
 * slot too — two writers in one log, one's points counted as compacted by the other's runs.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { LockError } from '../errors.ts';
import {
  deadLockOwner,
  lockHeartbeat,
  lockOwner,
  newLockOwner,
  parseLockOwner,
  releaseLockFolder,
  removeDeadStaging,
  removeLockOwner,
  takeLockFolder,
} from '../util/lock-folder.ts';
import { createLockFile, processAlive, readLockFile } from '../util/lockfile.ts';
import { FIRST_WRITER } from './manifest.ts';
import { WAL_FILE_RE } from './wal-files.ts';

export const WRITERS_DIR = 'writers';
const HEARTBEAT_MS = 20_000;
const STALE_MS = 120_000;

export interface SlotDir {
  id: string;
  dir: string;
}

export interface WriterSlot extends SlotDir {
  /**
   * Throws LockError (E071) unless this writer still holds the slot: checked before a compaction
   * publishes what it took from the slot's log (a lock another host broke while this writer
   * stalled past STALE_MS is another writer's now).
   */
  assertHeld(): Promise<void>;
  /** Stops the heartbeat and removes the lock. */
  release(): Promise<void>;
}

const ID_FILE = 'WRITER_ID';
/** A slot's lock folder (util/lock-folder.ts): its one entry names the writer that holds the slot. */
const OWNER = 'OWNER';
/** The lock file slots had before lock folders: a writer of an older sluice may hold it still. */
const LEGACY_LOCK = 'LOCK';

/**
 * The writer id of the log root's slot. Ids name writers in the manifest of a store that writers
 * with other log roots (other hosts or home folders) share, so each is random and kept in the
 * root (`WRITER_ID`); a root with a log but no id is a store from before several writers, whose
 * one writer the manifest knows as FIRST_WRITER.
 */
async function rootSlotId(walRoot: string, names: string[]): Promise<string | undefined> {
  const id = (await fsp.readFile(path.join(walRoot, ID_FILE), 'utf8').catch(() => '')).trim();
  if (/^[a-z0-9]+$/.test(id)) return id;
  // A holder of the root with no id file is its first writer (its log may be compacted away).
  return names.some((n) => WAL_FILE_RE.test(n) || n === LEGACY_LOCK || n === OWNER)
    ? FIRST_WRITER
    : undefined;
}

/** The slots of a log root that exist: the root itself when it holds a log, and every `writers/<id>/`. */
export async function listSlots(walRoot: string): Promise<SlotDir[]> {
  const slots: SlotDir[] = [];
  const rootNames = await fsp.readdir(walRoot).catch(() => [] as string[]);
  const rootId = await rootSlotId(walRoot, rootNames);
  if (rootId !== undefined) slots.push({ id: rootId, dir: walRoot });
  const ids = await fsp.readdir(path.join(walRoot, WRITERS_DIR)).catch(() => [] as string[]);
  for (const id of ids.sort())
    if (/^[a-z0-9]+$/.test(id)) slots.push({ id, dir: path.join(walRoot, WRITERS_DIR, id) });
  return slots;
}

/** The pid of a live owner of lock `file` of an older sluice (`<pid> <host>`), if any. */
async function legacyOwner(file: string): Promise<number | undefined> {
  const { text, pid } = await readLockFile(file);
  if (pid === undefined) return undefined;
  const host = text.trim().split(' ')[1];
  if (host === undefined || host === hostname()) return processAlive(pid) ? pid : undefined;
  const st = await fsp.stat(file).catch(() => undefined);
  return st && Date.now() - st.mtimeMs < STALE_MS ? pid : undefined;
}

/** The pid holding slot `dir` if its owner is alive (as far as this host can tell). */
async function liveOwner(dir: string): Promise<number | undefined> {
  const legacy = await legacyOwner(path.join(dir, LEGACY_LOCK));
  if (legacy !== undefined) return legacy;
  const lock = path.join(dir, OWNER);
  const name = await lockOwner(lock);
  if (name === undefined || (await deadLockOwner(lock, STALE_MS)) !== undefined) return undefined;
  return parseLockOwner(name).pid;
}

/**
 * Takes slot `dir` as `owner` if it is free or its owner is dead; false if someone alive holds it.
 * Two takers never both hold it, however their steps interleave (util/lock-folder.ts).
 */
async function tryTake(dir: string, owner: string): Promise<boolean> {
  const lock = path.join(dir, OWNER);
  const legacy = path.join(dir, LEGACY_LOCK);
  await removeDeadStaging(lock);
  for (;;) {
    if ((await legacyOwner(legacy)) !== undefined) return false;
    if (await takeLockFolder(lock, owner)) {
      // An older sluice's lock its dead owner left: gone now that the slot is held.
      await fsp.rm(legacy, { force: true });
      return true;
    }
    const dead = await deadLockOwner(lock, STALE_MS);
    if (dead === undefined) {
      // Released between the take and the look: try again; else held by someone alive.
      if ((await lockOwner(lock)) === undefined) continue;
      return false;
    }
    await removeLockOwner(lock, dead, owner);
  }
}

export async function hasLog(dir: string): Promise<boolean> {
  return (await fsp.readdir(dir).catch(() => [] as string[])).some((n) => WAL_FILE_RE.test(n));
}

function holding(slot: SlotDir, owner: string): WriterSlot {
  const lock = path.join(slot.dir, OWNER);
  const stopHeartbeat = lockHeartbeat(lock, owner, HEARTBEAT_MS);
  return {
    ...slot,
    async assertHeld() {
      const now = await lockOwner(lock);
      if (now !== owner)
        throw new LockError(
          `Writer slot ${slot.dir} is no longer this writer's (${now ? `held by ${now}` : 'its lock is gone'}): this compaction publishes nothing and its points stay in the log`,
          { context: { slot: slot.dir } },
        );
    },
    async release() {
      stopHeartbeat();
      await releaseLockFolder(lock, owner);
    },
  };
}

/** Takes slot `slot` for this process: the slot, held, or undefined when someone alive holds it. */
async function take(slot: SlotDir): Promise<WriterSlot | undefined> {
  const owner = newLockOwner();
  return (await tryTake(slot.dir, owner)) ? holding(slot, owner) : undefined;
}

/**
 * Claims a writer slot under `walRoot` (creating the folders): a dead writer's with points left
 * first, then the log root, then any free one, else a new one.
 */
export async function claimWriterSlot(walRoot: string): Promise<WriterSlot> {
  await fsp.mkdir(walRoot, { recursive: true });
  const slots = await listSlots(walRoot);
  // The log root is a slot too: a store with one writer keeps its log where it always did.
  if (!slots.some((s) => s.dir === walRoot)) slots.unshift({ id: await newRootId(walRoot), dir: walRoot });
  const withLog: SlotDir[] = [];
  const empty: SlotDir[] = [];
  for (const s of slots) ((await hasLog(s.dir)) ? withLog : empty).push(s);
  const rootFirst = (a: SlotDir, b: SlotDir) => Number(b.dir === walRoot) - Number(a.dir === walRoot);
  for (const s of [...withLog, ...empty.sort(rootFirst)]) {
    const held = await take(s);
    if (held) return held;
  }
  for (;;) {
    const id = randomBytes(6).toString('hex');
    const dir = path.join(walRoot, WRITERS_DIR, id);
    await fsp.mkdir(dir, { recursive: true });
    const held = await take({ id, dir });
    if (held) return held;
  }
}

/** Gives the log root its writer id (kept once written: a racing writer's id wins, and is read back). */
async function newRootId(walRoot: string): Promise<string> {
  const file = path.join(walRoot, ID_FILE);
  await createLockFile(file, randomBytes(6).toString('hex')).catch(() => false);
  return (await rootSlotId(walRoot, [])) ?? FIRST_WRITER;
}

/** Takes slot `slot` if its owner is gone (or it has none): the slot, held, or undefined. */
export async function takeIfAbandoned(slot: SlotDir): Promise<WriterSlot | undefined> {
  return take(slot);
}

/** The pid of a live writer of the store whose log root is `walRoot`, if any. */
export async function liveWriter(walRoot: string): Promise<number | undefined> {
  for (const s of await listSlots(walRoot)) {
    const pid = await liveOwner(s.dir);
    if (pid !== undefined) return pid;
  }
  return undefined;
}
