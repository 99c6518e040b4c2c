/**
 * Writer slots: each writer of a store has its own log folder and sequence space, so any number of
 * processes can append to one store at once. A slot is `<log root>/writers/<id>/` (plus the log
 * root itself, id '', where stores kept their one writer's log before), owned through a `LOCK`
 * file holding `<pid> <host>`. A writer opening takes a free slot — first one whose owner died
 * with points not yet compacted, so those are compacted by the next writer — or makes a new one.
 *
 * An owner is dead when its process is gone (same host) or its lock was not refreshed for
 * `STALE_MS` (another host sharing the folder): owners touch their lock every `HEARTBEAT_MS`.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
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
  /** Stops the heartbeat and removes the lock. */
  release(): Promise<void>;
}

const ID_FILE = 'WRITER_ID';

/**
 * The writer id of the log root's slot. Ids name writers in the manifest of a store that writers
 * with other log roots (other hosts or home folders) share, so each is random and kept in the
 * root (`WRITER_ID`); a root with a log but no id is a store from before several writers, whose
 * one writer the manifest knows as FIRST_WRITER.
 */
async function rootSlotId(walRoot: string, names: string[]): Promise<string | undefined> {
  const id = (await fsp.readFile(path.join(walRoot, ID_FILE), 'utf8').catch(() => '')).trim();
  if (/^[a-z0-9]+$/.test(id)) return id;
  return names.some((n) => WAL_FILE_RE.test(n) || n === 'LOCK') ? FIRST_WRITER : undefined;
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

const lockText = () => `${process.pid} ${hostname()}`;

/** The pid holding slot `dir` if its owner is alive (as far as this host can tell). */
async function liveOwner(dir: string): Promise<number | undefined> {
  const file = path.join(dir, 'LOCK');
  const { text, pid } = await readLockFile(file);
  if (pid === undefined) return undefined;
  const host = text.trim().split(' ')[1];
  if (host === undefined || host === hostname()) return processAlive(pid) ? pid : undefined;
  const st = await fsp.stat(file).catch(() => undefined);
  return st && Date.now() - st.mtimeMs < STALE_MS ? pid : undefined;
}

/** Takes slot `dir` if it is free or its owner is dead; false if someone alive holds it. */
async function tryTake(dir: string): Promise<boolean> {
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await createLockFile(file, lockText())) return true;
    if ((await liveOwner(dir)) !== undefined) return false;
    // Dead owner: take the slot over (a racing taker loses the exclusive create above).
    await fsp.rm(file, { force: true });
  }
  return false;
}

export async function hasLog(dir: string): Promise<boolean> {
  return (await fsp.readdir(dir).catch(() => [] as string[])).some((n) => WAL_FILE_RE.test(n));
}

function holding(slot: SlotDir): WriterSlot {
  const file = path.join(slot.dir, 'LOCK');
  const now = () => new Date();
  const timer = setInterval(() => {
    fsp.utimes(file, now(), now()).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    ...slot,
    async release() {
      clearInterval(timer);
      const { text } = await readLockFile(file);
      if (text === lockText()) await fsp.rm(file, { force: true });
    },
  };
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
  for (const s of [...withLog, ...empty.sort(rootFirst)]) if (await tryTake(s.dir)) return holding(s);
  for (;;) {
    const id = randomBytes(6).toString('hex');
    const dir = path.join(walRoot, WRITERS_DIR, id);
    await fsp.mkdir(dir, { recursive: true });
    if (await tryTake(dir)) return holding({ id, dir });
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
  return (await tryTake(slot.dir)) ? holding(slot) : undefined;
}

/** The pid of a live writer of the store whose log root is `walRoot`, if any. */
export async function liveWriter(walRoot: string): Promise<number | undefined> {
  for (const s of await listSlots(walRoot)) {
    const pid = await liveOwner(s.dir);
    if (pid !== undefined) return pid;
  }
  return undefined;
}
