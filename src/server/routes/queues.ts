/**
 * The queues of the process's pollers and workers: `GET /api/queues` (each with its counts and,
 * from the second answer on, the rates per second of its counts: jobs completed, dead-lettered…),
 * `GET /api/queues/<id>/dead?limit=` (dead-lettered jobs, payloads masked) with the read scope,
 * and `POST /api/queues/<id>/retry` (admin; body `{"ids": [...]}` or none for every dead job).
 */
import { Hono } from 'hono';
import { parseJson } from '../../util/json-parse.ts';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import { bodyText, readBody } from '../http/body.ts';
import { HttpProblem } from '../http/problem.ts';
import type { ServerEnv } from '../types.ts';
import { countParam } from './query-params.ts';

/** `{"ids": ["a", "b"]}`, or an empty body for every dead job. */
function retryIds(text: string): string[] | undefined {
  if (text.trim() === '') return undefined;
  let body: unknown;
  try {
    body = parseJson(text);
  } catch (error) {
    throw new HttpProblem(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  const ids = (body as { ids?: unknown } | null)?.ids;
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
    throw new HttpProblem(400, 'ids must be a list of job ids (strings)');
  return ids;
}

export function queueRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { queues, tokens } = ctx;

  app.get('/api/queues', requireScope(tokens, 'read'), async (c) => {
    const list = await Promise.all(
      queues.list().map(async (q) => {
        try {
          const counts = await queues.counts(q.id);
          const rates = ctx.rates.observe(`queue ${q.id}`, { ...counts });
          return { ...q, counts, rates: rates ?? null };
        } catch (error) {
          return { ...q, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    return c.json({ queues: list });
  });

  app.get('/api/queues/:id/dead', requireScope(tokens, 'read'), async (c) => {
    const limit = countParam('limit', c.req.query('limit'), 1000) ?? 100;
    return c.json({ queue: c.req.param('id'), jobs: await queues.dead(c.req.param('id'), limit) });
  });

  app.post('/api/queues/:id/retry', requireScope(tokens, 'admin'), async (c) => {
    const ids = retryIds(bodyText(await readBody(c.req.raw, { maxBytes: 1024 * 1024 })));
    return c.json({ queue: c.req.param('id'), retried: await queues.retry(c.req.param('id'), ids) });
  });

  return app;
}
