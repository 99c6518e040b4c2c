/**
 * The pollers and workers the process runs, read scope: `GET /api/pollers` (settings, the
 * process's counters and their rates per second) and `GET /api/pollers/<id>/failed?limit=`
 * (objects moved to the failed location, with their masked error reports).
 */
import { Hono } from 'hono';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import type { ProcessCounters } from '../pollers.ts';
import type { ServerEnv } from '../types.ts';
import { countParam } from './query-params.ts';

/** The counters whose rates the dashboard shows, flattened (`objects.archived`, `jobs.dead`, …). */
function flatten(c: ProcessCounters): Record<string, number> {
  const out: Record<string, number> = { records: c.records, polls: c.polls };
  for (const [k, v] of Object.entries(c.objects)) out[`objects.${k}`] = v;
  for (const [k, v] of Object.entries(c.jobs)) out[`jobs.${k}`] = v;
  return out;
}

export function pollerRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { tokens, pollers } = ctx;

  app.get('/api/pollers', requireScope(tokens, 'read'), async (c) => {
    const counters = await pollers.counters();
    const rates = ctx.rates.observe('process', flatten(counters)) ?? null;
    return c.json({ pollers: pollers.list(), counters, rates });
  });

  app.get('/api/pollers/:id/failed', requireScope(tokens, 'read'), async (c) => {
    const limit = countParam('limit', c.req.query('limit'), 500) ?? 100;
    return c.json({ poller: c.req.param('id'), ...(await pollers.failed(c.req.param('id'), limit)) });
  });

  return app;
}
