import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DatabaseSync } from 'node:sqlite';
import { inTransaction, openSqlite, sqliteDiskError } from '../backends/sqlite.ts';
import { PollerError } from '../errors.ts';
import { processAlive } from '../util/lockfile.ts';

/** `enqueued`: every record is in the queue, archive pending; `done`: archived; `failed`: in failed/. */
export type ObjectStatus = 'enqueued' | 'done' | 'failed';

export interface ClaimResult {
  claimed: boolean;
  /** What an earlier run finished for this key + ETag. */
  status?: ObjectStatus;
}

/**
 * What the poller remembers, keyed by scope (the watched source) + key + ETag, plus a lease per
 * object so several pollers never process one object twice at once.
 */
export interface PollerStateStore {
  /** Claims the object for `leaseMs`; refused while another live poller holds the lease. */
  claim(key: string, etag: string, leaseMs: number): Promise<ClaimResult>;
  renew(key: string, etag: string, leaseMs: number): Promise<void>;
  mark(key: string, etag: string, status: ObjectStatus): Promise<void>;
  /** Drops the lease (after a transient failure) so the next poll retries. */
  release(key: string, etag: string): Promise<void>;
  close(): Promise<void>;
}

/** This process's lease owner id: host, pid and a random part. */
export function newOwnerId(): string {
  return `${hostname()}|${process.pid}|${randomUUID()}`;
}

/**
 * True when `owner` is a process on this host that no longer exists, so its lease can be taken
 * at once instead of waiting for it to expire (a poller killed with -9 and restarted).
 */
export function ownerIsDeadLocally(owner: string): boolean {
  const [host, pidText] = owner.split('|');
  if (host !== hostname()) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  return !processAlive(pid);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sluice_poller_objects (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  etag TEXT NOT NULL,
  status TEXT,
  owner TEXT,
  lease_until INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key, etag)
) WITHOUT ROWID;
`;

/** Poller state in a SQLite file (by default the sqlite queue's own file). */
export function createSqliteStateStore(file: string, scope: string): PollerStateStore {
  let db: DatabaseSync;
  try {
    db = openSqlite(file, SCHEMA);
  } catch (error) {
    throw (
      sqliteDiskError(error, file, 'the poller state was not opened') ??
      new PollerError(`Cannot open poller state ${file}: ${(error as Error).message}`, { cause: error })
    );
  }
  const owner = newOwnerId();
  const get = db.prepare(
    'SELECT status, owner, lease_until FROM sluice_poller_objects WHERE scope = ? AND key = ? AND etag = ?',
  );
  const upsert = db.prepare(
    `INSERT INTO sluice_poller_objects (scope, key, etag, status, owner, lease_until, updated_at)
     VALUES (?, ?, ?, NULL, ?, ?, ?)
     ON CONFLICT (scope, key, etag) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until,
       updated_at = excluded.updated_at`,
  );
  const renew = db.prepare(
    'UPDATE sluice_poller_objects SET lease_until = ? WHERE scope = ? AND key = ? AND etag = ? AND owner = ?',
  );
  const mark = db.prepare(
    `UPDATE sluice_poller_objects SET status = ?, owner = NULL, lease_until = NULL, updated_at = ?
     WHERE scope = ? AND key = ? AND etag = ?`,
  );
  const markEnqueued = db.prepare(
    'UPDATE sluice_poller_objects SET status = ?, updated_at = ? WHERE scope = ? AND key = ? AND etag = ?',
  );
  const release = db.prepare(
    `UPDATE sluice_poller_objects SET owner = NULL, lease_until = NULL
     WHERE scope = ? AND key = ? AND etag = ? AND owner = ?`,
  );
  let closed = false;
  const run = <T>(what: string, key: string, fn: () => T): T => {
    if (closed) throw new PollerError('Poller state store is closed');
    try {
      return fn();
    } catch (error) {
      const full = sqliteDiskError(error, file, `poller state: ${what} of ${key} was not recorded`);
      if (full) throw full;
      throw new PollerError(`Poller state ${what} failed for ${key} (${file}): ${(error as Error).message}`, {
        cause: error,
        context: { key, retryable: true },
      });
    }
  };
  return {
    async claim(key, etag, leaseMs) {
      return run('claim', key, () =>
        inTransaction(db, (): ClaimResult => {
          const now = Date.now();
          const row = get.get(scope, key, etag) as
            | { status: ObjectStatus | null; owner: string | null; lease_until: number | null }
            | undefined;
          if (row?.status === 'done' || row?.status === 'failed')
            return { claimed: false, status: row.status };
          const held =
            row?.owner &&
            row.owner !== owner &&
            (row.lease_until ?? 0) > now &&
            !ownerIsDeadLocally(row.owner);
          if (held) return { claimed: false };
          upsert.run(scope, key, etag, owner, now + leaseMs, now);
          return row?.status ? { claimed: true, status: row.status } : { claimed: true };
        }),
      );
    },
    async renew(key, etag, leaseMs) {
      run('renew', key, () => renew.run(Date.now() + leaseMs, scope, key, etag, owner));
    },
    async mark(key, etag, status) {
      run('mark', key, () =>
        status === 'enqueued'
          ? markEnqueued.run(status, Date.now(), scope, key, etag)
          : mark.run(status, Date.now(), scope, key, etag),
      );
    },
    async release(key, etag) {
      run('release', key, () => release.run(scope, key, etag, owner));
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
