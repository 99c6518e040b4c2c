/**
 * Probes and metrics: `/healthz` (the process answers), `/readyz` (every dependency answers; 503
 * otherwise, and while shutting down), `/metrics` (Prometheus text) and `/ping` (what InfluxDB
 * clients call before writing). None needs a token: they carry no data and the server binds
 * loopback unless told otherwise.
 */
import { Hono } from 'hono';
import { VERSION } from '../../version.ts';
import type { ServerContext } from '../context.ts';
import type { ServerEnv } from '../types.ts';

export function healthRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();

  app.get('/healthz', (c) =>
    c.json({
      status: 'ok',
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - ctx.lifecycle.startedAt) / 1000),
    }),
  );

  app.get('/readyz', async (c) => {
    if (ctx.lifecycle.stopping) return c.json({ status: 'stopping', ready: false, dependencies: [] }, 503);
    const report = await ctx.readiness.report();
    return c.json({ status: report.ready ? 'ready' : 'not ready', ...report }, report.ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    ctx.metrics.openStores.set(ctx.stores.openNames().length);
    const text = await ctx.registry.metrics();
    return c.body(text, 200, { 'Content-Type': ctx.registry.contentType });
  });

  // InfluxDB 1.x clients (the influx CLI, Telegraf) ping first and show the version header.
  app.on(['GET', 'HEAD'], '/ping', (c) =>
    c.body(null, 204, { 'X-Influxdb-Version': `sluice-${VERSION}`, 'X-Influxdb-Build': 'sluice' }),
  );

  return app;
}
