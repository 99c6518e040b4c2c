/**
 * The job queues the process uses (its pollers' and workers'), for the API: counts, dead-lettered
 * jobs and retrying them. Each queue is opened on first use and kept for the server's life; a
 * backend that does not answer within a few seconds is a 503, never a hung request. Job payloads
 * and errors are masked before they leave: a dead job may carry a credential its producer sent.
 */

import { openQueue, parseQueueUrl } from '../queue/open.ts';
import type { DeadJob, JobQueue, QueueCounts } from '../queue/types.ts';
import { maskSecretsInString, maskSensitiveData } from '../secrets/mask.ts';
import { HttpProblem } from './http/problem.ts';

/** Longest a queue backend gets to answer one API call. */
const ANSWER_MS = 3000;

export interface QueueRef {
  url: string;
  name: string;
}

export interface QueueSummary {
  /** How the API names it: the queue name, or `name-2` when two URLs use one name. */
  id: string;
  name: string;
  kind: 'sqlite' | 'redis';
  /** The URL, password masked. */
  target: string;
}

export class QueueRegistry {
  private readonly refs = new Map<string, QueueRef>();
  private readonly open = new Map<string, JobQueue>();

  constructor(queues: readonly QueueRef[]) {
    const seen = new Set<string>();
    for (const q of queues) {
      const key = `${q.url}\n${q.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let id = q.name;
      for (let n = 2; this.refs.has(id); n++) id = `${q.name}-${n}`;
      this.refs.set(id, q);
    }
  }

  list(): QueueSummary[] {
    return [...this.refs].map(([id, q]) => {
      const parsed = parseQueueUrl(q.url);
      return {
        id,
        name: q.name,
        kind: parsed.kind,
        target: maskSecretsInString(parsed.kind === 'redis' ? parsed.url : parsed.path),
      };
    });
  }

  counts(id: string): Promise<QueueCounts> {
    return this.call(id, (q) => q.counts());
  }

  /** Dead jobs with payloads and errors masked. */
  async dead(id: string, limit: number): Promise<DeadJob[]> {
    const jobs = await this.call(id, (q) => q.listDead(limit));
    return jobs.map((j) => ({ ...j, data: maskSensitiveData(j.data), error: maskSecretsInString(j.error) }));
  }

  retry(id: string, ids?: readonly string[]): Promise<number> {
    return this.call(id, (q) => q.retryDead(ids));
  }

  async close(): Promise<void> {
    const queues = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(queues.map((q) => q.close()));
  }

  private queue(id: string): JobQueue {
    const ref = this.refs.get(id);
    if (!ref)
      throw new HttpProblem(404, `no queue ${JSON.stringify(id.slice(0, 80))} in this server's config`);
    let queue = this.open.get(id);
    if (!queue) {
      queue = openQueue(ref.url, { name: ref.name, create: false, connectTimeoutMs: ANSWER_MS });
      this.open.set(id, queue);
    }
    return queue;
  }

  private async call<T>(id: string, fn: (q: JobQueue) => Promise<T>): Promise<T> {
    const queue = this.queue(id);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(queue),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new HttpProblem(503, `queue ${id} did not answer within ${ANSWER_MS} ms`, {
                  headers: { 'Retry-After': '1' },
                }),
              ),
            ANSWER_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
