import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { inTransaction, openSqlite, sqliteDiskError, sqliteHasTable } from '../../backends/sqlite.ts';
import { JobPayloadError, NotFoundError, QueueError, ValidationError } from '../../errors.ts';
import { fromOsError } from '../../os-errors.ts';
import { maskSecretsInString } from '../../secrets/mask.ts';
import { EnvironmentWaits, isEnvironmentFailure } from '../environment-wait.ts';
import { checkRetention } from '../retention.ts';
import {
  backoffFor,
  type ConsumeOptions,
  type DeadJob,
  emptyCounts,
  isPermanentJobError,
  type JobHandler,
  type JobQueue,
  type JobToAdd,
  type QueueCounts,
  type QueueOptions,
} from '../types.ts';
import { deadJobData, jobOf, type Row } from './sqlite/rows.ts';

export interface SqliteQueueOptions extends QueueOptions {
  /** Database file (created with its directory). */
  path: string;
  /** Visibility timeout: a claimed job whose consumer stops renewing comes back after this. @default 30000 */
  leaseMs?: number;
  /** Wait on a locked database before failing. @default 10000 */
  busyTimeoutMs?: number;
  /** Idle poll interval of consume(). @default 50 */
  pollMs?: number;
  /**
   * Create the database (and its folder) when missing. With false, a file that does not exist or
   * holds no sluice queue is NotFoundError (E011) and nothing is created: what inspecting commands
   * want, so a mistyped path is not answered with an empty queue. @default true
   */
  create?: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sluice_jobs (
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  data TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  run_at INTEGER NOT NULL,
  lease_until INTEGER,
  lease_owner TEXT,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  source TEXT,
  PRIMARY KEY (queue, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sluice_jobs_ready ON sluice_jobs (queue, state, run_at);
`;

/**
 * Checks that `file` is a sluice queue database without creating one. The check opens read-write
 * on purpose: a read-only connection to a WAL database leaves -wal and -shm files behind, a
 * read-write one removes them when it closes.
 */
function assertQueueDatabase(file: string): void {
  if (file === ':memory:') return;
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (error) {
    const mapped = fromOsError(error, { path: file, access: 'read' });
    if (mapped?.code === 'E011')
      throw new NotFoundError(`No queue database at ${file}`, { cause: error, context: mapped.context });
    throw mapped ?? error;
  }
  if (!isFile)
    throw new NotFoundError(`${file} is a directory, not a queue database`, { context: { path: file } });
  let found: boolean;
  try {
    found = sqliteHasTable(file, 'sluice_jobs');
  } catch (error) {
    throw new QueueError(`Cannot open queue database ${file}: ${(error as Error).message}`, {
      cause: error,
      context: { path: file },
    });
  }
  if (!found)
    throw new NotFoundError(`${file} holds no sluice queue (no sluice_jobs table)`, {
      context: { path: file },
    });
}

/** Queue files made before jobs carried their source object get the column (once; a race is harmless). */
function addSourceColumn(db: DatabaseSync): void {
  const columns = db.prepare('PRAGMA table_info(sluice_jobs)').all() as { name: string }[];
  if (columns.some((c) => c.name === 'source')) return;
  try {
    db.exec('ALTER TABLE sluice_jobs ADD COLUMN source TEXT');
  } catch (error) {
    if (!/duplicate column/i.test(String(error))) throw error;
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) {
    throw new ValidationError(`Queue option ${name} must be a positive integer, got ${String(value)}`);
  }
  return v;
}

/** Durable embedded queue on one SQLite file; several processes may share the file. */
export function createSqliteQueue(options: SqliteQueueOptions): JobQueue {
  const name = options.name ?? 'sluice';
  const maxAttempts = positiveInt('attempts', options.attempts, 5);
  const backoffMs = options.backoffMs ?? 1000;
  const leaseMs = positiveInt('leaseMs', options.leaseMs, 30_000);
  const pollMs = positiveInt('pollMs', options.pollMs, 50);
  let db: DatabaseSync;
  if (options.create === false) assertQueueDatabase(options.path);
  try {
    db = openSqlite(options.path, SCHEMA, options.busyTimeoutMs);
  } catch (error) {
    throw (
      sqliteDiskError(error, options.path, 'the queue was not opened') ??
      new QueueError(`Cannot open queue database ${options.path}: ${(error as Error).message}`, {
        cause: error,
        context: { path: options.path },
      })
    );
  }
  addSourceColumn(db);
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  const st = (sql: string): StatementSync => db.prepare(sql);
  const insert = st(
    `INSERT OR IGNORE INTO sluice_jobs (queue, id, name, data, state, run_at, created_at, source)
     VALUES (?, ?, ?, ?, 'waiting', ?, ?, ?)`,
  );
  // Jobs whose lease ran out after their last allowed attempt would loop forever: dead-letter them.
  const expireDead = st(
    `UPDATE sluice_jobs SET state = 'dead', lease_owner = NULL,
       last_error = coalesce(last_error, 'lease expired (consumer crashed or hung)')
     WHERE queue = ? AND state = 'active' AND lease_until < ? AND attempts >= ?`,
  );
  const claim = st(
    `UPDATE sluice_jobs SET state = 'active', attempts = attempts + 1, lease_until = ?, lease_owner = ?
     WHERE queue = ? AND id IN (
       SELECT id FROM sluice_jobs WHERE queue = ? AND
         ((state = 'waiting' AND run_at <= ?) OR (state = 'active' AND lease_until < ?))
       ORDER BY run_at LIMIT ?)
     RETURNING id, name, data, attempts, source`,
  );
  const renew = st(
    `UPDATE sluice_jobs SET lease_until = ? WHERE queue = ? AND state = 'active' AND lease_owner = ?`,
  );
  const complete = st(
    // A completed job's run_at records when it finished (pruneCompleted reads it).
    `UPDATE sluice_jobs SET state = 'completed', run_at = ?, lease_owner = NULL, lease_until = NULL
     WHERE queue = ? AND id = ? AND lease_owner = ? AND state = 'active'`,
  );
  const reschedule = st(
    `UPDATE sluice_jobs SET state = ?, run_at = ?, lease_owner = NULL, lease_until = NULL, last_error = ?
     WHERE queue = ? AND id = ? AND lease_owner = ? AND state = 'active'`,
  );
  // A run that failed on its environment (environment-wait.ts) does not count either.
  const waitAgain = st(
    `UPDATE sluice_jobs SET state = 'waiting', run_at = ?, attempts = max(attempts - 1, 0),
       lease_owner = NULL, lease_until = NULL, last_error = ?
     WHERE queue = ? AND id = ? AND lease_owner = ? AND state = 'active'`,
  );
  // The interrupted run does not count: the claim added the attempt, the hand-back takes it off.
  const handBackHeld = st(
    `UPDATE sluice_jobs SET state = 'waiting', run_at = ?, attempts = max(attempts - 1, 0),
       lease_owner = NULL, lease_until = NULL
     WHERE queue = ? AND state = 'active' AND lease_owner = ?`,
  );
  const countStmt = st(
    `SELECT state, (state = 'waiting' AND run_at > ?) AS delayed, count(*) AS n
     FROM sluice_jobs WHERE queue = ? GROUP BY 1, 2`,
  );
  let closed = false;

  const guard = <T>(what: string, fn: () => T): T => {
    if (closed) throw new QueueError(`Queue ${name} (${options.path}) is closed`);
    try {
      return fn();
    } catch (error) {
      const full = sqliteDiskError(error, options.path, `queue ${name}: ${what} was not done`);
      if (full) throw full;
      throw new QueueError(`Queue ${name}: ${what} failed on ${options.path}: ${(error as Error).message}`, {
        cause: error,
        context: { path: options.path, queue: name, retryable: /busy|locked/i.test(String(error)) },
      });
    }
  };

  const addBulkSync = (jobs: readonly JobToAdd[]): number => {
    const now = Date.now();
    let added = 0;
    inTransaction(db, () => {
      for (const job of jobs) {
        if (typeof job.id !== 'string' || job.id === '')
          throw new ValidationError('Job id must be a non-empty string');
        const data = JSON.stringify(job.data ?? null);
        const source = job.source ? JSON.stringify(job.source) : null;
        added += Number(insert.run(name, job.id, job.name, data, now, now, source).changes);
      }
    });
    return added;
  };

  const countsSync = (): QueueCounts => {
    const out = emptyCounts();
    for (const r of countStmt.all(Date.now(), name) as { state: string; delayed: number; n: number }[]) {
      if (r.state === 'waiting') {
        if (r.delayed) out.delayed += r.n;
        else out.waiting += r.n;
      } else if (r.state === 'active') out.active += r.n;
      else if (r.state === 'completed') out.completed += r.n;
      else if (r.state === 'dead') out.dead += r.n;
    }
    out.failed = out.dead;
    return out;
  };

  const queue: JobQueue = {
    kind: 'sqlite',
    name,
    async add(job) {
      return guard('add', () => addBulkSync([job])) === 1;
    },
    async addBulk(jobs) {
      if (jobs.length === 0) return 0;
      return guard('addBulk', () => addBulkSync(jobs));
    },
    async counts() {
      return guard('counts', countsSync);
    },
    async backlog() {
      const c = guard('counts', countsSync);
      return c.waiting + c.delayed + c.active;
    },
    async consume(handler: JobHandler, opts: ConsumeOptions = {}) {
      const concurrency = positiveInt('concurrency', opts.concurrency, 1);
      const running = new Set<Promise<void>>();
      const waits = new EnvironmentWaits(backoffMs);
      const heartbeat = setInterval(
        () => {
          if (!closed && running.size > 0) {
            try {
              renew.run(Date.now() + leaseMs, name, owner);
            } catch {
              // A busy database delays the renewal; the next tick retries well within the lease.
            }
          }
        },
        Math.max(10, Math.floor(leaseMs / 3)),
      );
      heartbeat.unref();
      const runOne = async (row: Row): Promise<void> => {
        const job = jobOf(row);
        if (job instanceof JobPayloadError) {
          // A row no handler can read (edited or torn by something else): dead at once, named,
          // instead of a worker that crashes on it at every claim until its attempts run out.
          guard('fail', () => reschedule.run('dead', Date.now(), job.message, name, row.id, owner));
          opts.onJob?.({
            job: { id: row.id, name: row.name, data: null, attempt: row.attempts },
            outcome: 'dead',
            error: job,
          });
          return;
        }
        try {
          await handler(job);
          waits.forget(job.id);
          guard('complete', () => complete.run(Date.now(), name, job.id, owner));
          opts.onJob?.({ job, outcome: 'completed' });
        } catch (error) {
          // Stored with the job and listed by `queue dead`: masked like every error sluice keeps.
          const message = maskSecretsInString(error instanceof Error ? error.message : String(error));
          if (isEnvironmentFailure(error)) {
            const runAt = Date.now() + waits.next(job.id).waitMs;
            guard('wait', () => waitAgain.run(runAt, message, name, job.id, owner));
            opts.onJob?.({ job, outcome: 'wait', error });
            return;
          }
          waits.forget(job.id);
          const dead = isPermanentJobError(error) || job.attempt >= maxAttempts;
          const runAt = dead ? Date.now() : Date.now() + backoffFor(job.attempt, backoffMs);
          guard('fail', () => reschedule.run(dead ? 'dead' : 'waiting', runAt, message, name, job.id, owner));
          opts.onJob?.({ job, outcome: dead ? 'dead' : 'retry', error });
        }
      };
      let idle = pollMs;
      try {
        while (!opts.signal?.aborted && !closed) {
          const free = concurrency - running.size;
          let rows: Row[] = [];
          if (free > 0) {
            rows = guard('claim', () => {
              const now = Date.now();
              expireDead.run(name, now, maxAttempts);
              return claim.all(now + leaseMs, owner, name, name, now, now, free) as unknown as Row[];
            });
          }
          for (const row of rows) {
            const p = runOne(row).finally(() => running.delete(p));
            running.add(p);
          }
          if (rows.length > 0) {
            idle = pollMs;
            if (running.size >= concurrency) await Promise.race(running);
            continue;
          }
          if (opts.drain && running.size === 0 && (await queue.backlog()) === 0) break;
          const wake = running.size > 0 ? Promise.race(running) : Promise.resolve();
          await Promise.race([
            wake.then(() => sleep(0)),
            sleep(idle, undefined, { signal: opts.signal }).catch(() => {}),
          ]);
          idle = Math.min(idle * 2, 500);
        }
      } finally {
        await Promise.allSettled(running);
        clearInterval(heartbeat);
      }
    },
    async listDead(limit = 100) {
      return guard('listDead', () =>
        (
          st(
            `SELECT id, name, data, attempts, last_error FROM sluice_jobs WHERE queue = ? AND state = 'dead'
             ORDER BY id LIMIT ?`,
          ).all(name, limit) as {
            id: string;
            name: string;
            data: string;
            attempts: number;
            last_error: string;
          }[]
        ).map(
          (r): DeadJob => ({
            id: r.id,
            name: r.name,
            data: deadJobData(r.data),
            attempts: r.attempts,
            error: r.last_error ?? '',
          }),
        ),
      );
    },
    async retryDead(ids) {
      return guard('retryDead', () => {
        const sql = `UPDATE sluice_jobs SET state = 'waiting', attempts = 0, run_at = ?, last_error = NULL
          WHERE queue = ? AND state = 'dead'`;
        if (!ids) return Number(st(sql).run(Date.now(), name).changes);
        let n = 0;
        const one = st(`${sql} AND id = ?`);
        for (const id of ids) n += Number(one.run(Date.now(), name, id).changes);
        return n;
      });
    },
    async pruneCompleted(olderThanMs) {
      const cutoff = Date.now() - checkRetention(olderThanMs);
      return guard('pruneCompleted', () =>
        Number(
          st(`DELETE FROM sluice_jobs WHERE queue = ? AND state = 'completed' AND run_at < ?`).run(
            name,
            cutoff,
          ).changes,
        ),
      );
    },
    async purgeDead() {
      return guard('purgeDead', () =>
        Number(st(`DELETE FROM sluice_jobs WHERE queue = ? AND state = 'dead'`).run(name).changes),
      );
    },
    async handBack() {
      if (closed) return 0;
      return guard('handBack', () => Number(handBackHeld.run(Date.now(), name, owner).changes));
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return queue;
}
