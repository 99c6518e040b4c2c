import { parseQueueUrl } from '../queue/open.ts';
import { createSqliteStateStore, type PollerStateStore } from './state.ts';
import { createRedisStateStore } from './state-redis.ts';

/**
 * The poller's state store: `sqlite:./file.db` or `redis://…`; by default the queue's own
 * database (sqlite queue) or Redis (bullmq queue). `scope` names the watched source.
 */
export function openPollerState(
  spec: string | undefined,
  queueUrl: string,
  scope: string,
  options: { connectTimeoutMs?: number } = {},
): PollerStateStore {
  const parsed = parseQueueUrl(spec ?? queueUrl);
  if (parsed.kind === 'sqlite') return createSqliteStateStore(parsed.path, scope);
  return createRedisStateStore(
    { url: parsed.url, ...(parsed.prefix ? { prefix: parsed.prefix } : {}), ...options },
    scope,
  );
}
