import { parseQueueUrl } from '../queue/open.ts';
import { createSqliteStateStore, type PollerStateStore } from './state.ts';
import { createRedisStateStore } from './state-redis.ts';

/**
 * The poller's state store: `sqlite:./file.db` or `redis://…`; by default the queue's own
 * database (sqlite queue) or Redis (bullmq queue). `scope` names the watched source.
 */
export function openPollerState(spec: string | undefined, queueUrl: string, scope: string): PollerStateStore {
  const parsed = parseQueueUrl(spec ?? queueUrl);
  if (parsed.kind === 'sqlite') return createSqliteStateStore(parsed.path, scope);
  return createRedisStateStore(
    parsed.prefix ? { url: parsed.url, prefix: parsed.prefix } : { url: parsed.url },
    scope,
  );
}
