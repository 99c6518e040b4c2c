/**
 * The HTTP API as one Hono app: probes and metrics, InfluxDB's write endpoints, sluice's
 * time-series API, the lake and its lineage, pollers, queues and schedules for the dashboard, and the
 * dashboard itself at `/`,
 * behind request metrics and masked request logs. Errors become JSON answers
 * with their status (http/problem.ts); unexpected ones are logged (masked) and answered 500
 * without detail. Tests call `app.request(…)` in-process; `listen.ts` serves it on a socket.
 */
import { Hono } from 'hono';
import type { ServerContext } from './context.ts';
import { dashboardRoutes } from './dashboard/assets.ts';
import { observeRequests } from './http/observe.ts';
import { problemOf } from './http/problem.ts';
import { healthRoutes } from './routes/health.ts';
import { influxWriteRoutes } from './routes/influx-write.ts';
import { lakeRoutes } from './routes/lake.ts';
import { lineageRoutes } from './routes/lineage.ts';
import { pollerRoutes } from './routes/pollers.ts';
import { queueRoutes } from './routes/queues.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { seriesRoutes } from './routes/series.ts';
import { sessionRoutes } from './routes/session.ts';
import { timeseriesRoutes } from './routes/ts-api.ts';
import type { ServerEnv } from './types.ts';

export function createServerApp(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.use('*', observeRequests(ctx.metrics, ctx.log));
  app.route('/', healthRoutes(ctx));
  app.route('/', influxWriteRoutes(ctx));
  app.route('/', timeseriesRoutes(ctx));
  app.route('/', sessionRoutes(ctx));
  app.route('/', seriesRoutes(ctx));
  app.route('/', queueRoutes(ctx));
  app.route('/', pollerRoutes(ctx));
  app.route('/', lakeRoutes(ctx));
  app.route('/', lineageRoutes(ctx));
  app.route('/', scheduleRoutes(ctx));
  if (ctx.dashboard) app.route('/', dashboardRoutes());

  app.notFound((c) =>
    c.json({ code: 'not found', message: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404),
  );
  app.onError((error, c) => {
    const problem = problemOf(error);
    if (problem.status >= 500)
      ctx.log.error({ err: problem.cause ?? error, method: c.req.method }, 'request failed');
    const style = c.get('errorStyle') ?? 'json';
    return c.json(problem.body(style), problem.status, problem.headers);
  });
  return app;
}
