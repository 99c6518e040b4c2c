/**
 * `GET /api/schedules` (read scope): the server's scheduled pipeline runs, each with its cron
 * expression, time zone, what it runs, its next tick, the run going now and the last one.
 */
import { Hono } from 'hono';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import type { ServerEnv } from '../types.ts';

export function scheduleRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.get('/api/schedules', requireScope(ctx.tokens, 'read'), (c) =>
    c.json({ schedules: ctx.schedules.list() }),
  );
  return app;
}
