/**
 * The SQLite plumbing every sluice SQLite store shares (the queue, the poller's state): one way to
 * open a file, to run a transaction, and to say what a failure means. On a full disk SQLite
 * answers SQLITE_FULL and rolls the transaction back itself; a ROLLBACK after that fails with
 * "cannot rollback - no transaction is active", which used to hide the real error.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SluiceError } from '../errors.ts';
import { diskFull, fromOsError } from '../os-errors.ts';

/**
 * Opens (and creates) the SQLite connection every sluice SQLite store shares settings with, and
 * creates `schema` in it. Processes opening one new file at once (two pollers sharing a queue)
 * race to switch it to WAL and to create tables; SQLite answers some of those races with an
 * immediate "database is locked" instead of waiting, so they are retried until busyTimeoutMs.
 */
export function openSqlite(file: string, schema: string, busyTimeoutMs = 10_000): DatabaseSync {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const deadline = Date.now() + busyTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
    try {
      // WAL lets readers and one writer work at once across processes; NORMAL is durable across
      // process crashes (a power loss may drop the last commits, never tear the file).
      db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
      db.exec('PRAGMA synchronous = NORMAL');
      // IMMEDIATE takes the write lock first (waiting for it), so two creators never deadlock.
      db.exec(`BEGIN IMMEDIATE; ${schema}; COMMIT;`);
      return db;
    } catch (error) {
      db.close();
      if (!/busy|locked/i.test(String(error)) || Date.now() >= deadline) throw error;
      sleepSync(Math.min(200, 10 * attempt));
    }
  }
}

/**
 * Whether an existing SQLite file holds `table`, read without creating or changing anything (no
 * WAL switch, no schema): how a store tells "not a sluice database" from "a new one".
 */
export function sqliteHasTable(file: string, table: string, busyTimeoutMs = 10_000): boolean {
  const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
  try {
    return (
      db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined
    );
  } finally {
    db.close();
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `fn` in a BEGIN IMMEDIATE transaction: committed if it returns, rolled back if it throws
 * (unless SQLite already rolled it back, as it does on SQLITE_FULL), and the error rethrown.
 */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

const SQLITE_FULL = 13;

/**
 * A SQLite failure that is the disk's, in the user's words: SQLITE_FULL is E012 `disk full
 * writing <file>` (with `outcome` appended); undefined for anything else.
 */
export function sqliteDiskError(error: unknown, file: string, outcome?: string): SluiceError | undefined {
  const errcode = (error as { errcode?: unknown })?.errcode;
  if (typeof errcode !== 'number' || (errcode & 0xff) !== SQLITE_FULL) return undefined;
  return fromOsError(diskFull(file, 'write', error), {
    path: file,
    access: 'write',
    ...(outcome === undefined ? {} : { outcome }),
  });
}
