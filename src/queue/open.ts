import { InvalidUrlError } from '../errors.ts';
import { type BullmqQueueOptions, createBullmqQueue } from './drivers/bullmq.ts';
import { createSqliteQueue, type SqliteQueueOptions } from './drivers/sqlite.ts';
import type { JobQueue, QueueOptions } from './types.ts';

export type ParsedQueueUrl =
  | { kind: 'sqlite'; path: string }
  | { kind: 'redis'; url: string; prefix?: string };

export interface OpenQueueOptions extends QueueOptions {
  /**
   * How long a job stays claimed without its consumer renewing it: a crashed worker's jobs run
   * again after it (SQLite: the lease; BullMQ: lock duration and stalled check, so one to two
   * leases). @default 30000
   */
  leaseMs?: number;
  /** sqlite only: idle poll interval in ms. @default 50 */
  pollMs?: number;
  /**
   * sqlite only: create a missing database; with false a missing one is NotFoundError (E011). A
   * Redis queue has no existence apart from its jobs: an unknown name reads as empty. @default true
   */
  create?: boolean;
  /** bullmq only: Redis key prefix (also `?prefix=` in the URL). @default 'bull' */
  prefix?: string;
  /** bullmq only: bound on reaching Redis (E060 after it). @default 10000 */
  connectTimeoutMs?: number;
}

/** `sqlite:./file.db`, `sqlite:///abs/file.db` or `redis[s]://host:port/db[?prefix=p]`. */
export function parseQueueUrl(url: string): ParsedQueueUrl {
  if (typeof url !== 'string' || url === '') throw new InvalidUrlError('Queue URL is empty');
  if (url.startsWith('sqlite:')) {
    let file = url.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2);
    if (file === '')
      throw new InvalidUrlError(`Queue URL ${url} names no database file; use sqlite:./queue.db`);
    return { kind: 'sqlite', path: file };
  }
  if (/^rediss?:\/\//.test(url)) {
    const [base = '', query = ''] = url.split('?', 2);
    const prefix = new URLSearchParams(query).get('prefix');
    return prefix ? { kind: 'redis', url: base, prefix } : { kind: 'redis', url: base };
  }
  throw new InvalidUrlError(
    `Unsupported queue URL ${JSON.stringify(url)}; use sqlite:./sluice-queue.db or redis://host:6379/0`,
    { context: { url } },
  );
}

/** Opens the queue a URL names. */
export function openQueue(url: string, options: OpenQueueOptions = {}): JobQueue {
  const parsed = parseQueueUrl(url);
  if (parsed.kind === 'sqlite') {
    const opts: SqliteQueueOptions = { ...options, path: parsed.path };
    return createSqliteQueue(opts);
  }
  const opts: BullmqQueueOptions = { ...options, url: parsed.url };
  const prefix = parsed.prefix ?? options.prefix;
  if (prefix) opts.prefix = prefix;
  return createBullmqQueue(opts);
}
