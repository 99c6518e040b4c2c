/**
 * InfluxDB's two write endpoints, so Telegraf, `@influxdata/influxdb-client` and the `influx`
 * CLI write to sluice unchanged: v1 `POST /write?db=<store>&precision=n|u|ms|s|m|h` and v2
 * `POST /api/v2/write?bucket=<store>&precision=ns|us|ms|s` (`org` is accepted and ignored). The
 * body is line protocol, plain or gzip. 204 means every point is durable (the store's append
 * resolved after its fsync); any bad line is a 400 naming it, and then nothing is stored.
 */
import { Hono } from 'hono';
import { FormatError } from '../../errors.ts';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import { bodyText, readBody } from '../http/body.ts';
import { HttpProblem } from '../http/problem.ts';
import { lineProtocolPoints, type Precision, readPrecision } from '../line-protocol/points.ts';
import { assertStoreName } from '../stores.ts';
import type { ServerEnv } from '../types.ts';

type Protocol = 'influx_v1' | 'influx_v2';

/** Parses the whole body, then appends it in one atomic, durable batch. */
export async function ingestLineProtocol(
  ctx: ServerContext,
  request: Request,
  storeName: string,
  precision: Precision,
  protocol: Protocol,
): Promise<number> {
  assertStoreName(storeName);
  const receivedMicros = Date.now() * 1000;
  const text = bodyText(await readBody(request, { maxBytes: ctx.limits.maxBodyBytes }));
  let points: ReturnType<typeof lineProtocolPoints>;
  try {
    points = lineProtocolPoints(text, {
      precision,
      nowMicros: receivedMicros,
      maxPoints: ctx.limits.maxPointsPerRequest,
    });
  } catch (error) {
    if (error instanceof FormatError && error.context.tooManyPoints)
      throw new HttpProblem(413, error.message, { details: { maxPoints: ctx.limits.maxPointsPerRequest } });
    throw error;
  }
  if (points.length === 0) return 0;
  const store = await ctx.stores.forWrite(storeName);
  await store.storeDataPoints(points);
  ctx.metrics.points.inc({ store: storeName, protocol }, points.length);
  return points.length;
}

function precisionOf(value: string | undefined, api: 'v1' | 'v2'): Precision {
  const precision = readPrecision(value, api);
  if (precision) return precision;
  const allowed = api === 'v1' ? 'n, ns, u, us, ms, s, m, h' : 'ns, us, ms, s';
  throw new HttpProblem(400, `precision ${JSON.stringify(value)} is not one of ${allowed}`);
}

export function influxWriteRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();

  app.post(
    '/write',
    async (c, next) => {
      c.set('errorStyle', 'influx-v1');
      await next();
    },
    requireScope(ctx.tokens, 'write', { queryPassword: true }),
    async (c) => {
      const db = c.req.query('db');
      if (!db) throw new HttpProblem(400, 'database is required: POST /write?db=<store>');
      await ingestLineProtocol(ctx, c.req.raw, db, precisionOf(c.req.query('precision'), 'v1'), 'influx_v1');
      return c.body(null, 204);
    },
  );

  app.post('/api/v2/write', requireScope(ctx.tokens, 'write'), async (c) => {
    const bucket = c.req.query('bucket');
    if (!bucket) throw new HttpProblem(400, 'bucket is required: POST /api/v2/write?bucket=<store>');
    await ingestLineProtocol(
      ctx,
      c.req.raw,
      bucket,
      precisionOf(c.req.query('precision'), 'v2'),
      'influx_v2',
    );
    return c.body(null, 204);
  });

  return app;
}
