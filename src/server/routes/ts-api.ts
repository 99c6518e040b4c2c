/**
 * sluice's own time-series API: `POST /api/ts/<store>/points` (JSON points, write scope),
 * `GET /api/ts` (the stores), `GET /api/ts/<store>` (stats and variables), `GET
 * /api/ts/<store>/query` (raw points, `agg` buckets or `latest`; JSON, or CSV with
 * `Accept: text/csv`) with the read scope, and `POST /api/ts/<store>/compact` (admin).
 */
import { stringify } from 'csv-stringify/sync';
import { Hono } from 'hono';
import {
  type DataPointInput,
  parseTimestamp,
  type StoredPoint,
  type TimeSeriesStore,
  variableNameProblem,
} from '../../timeseries/index.ts';
import { parseJson } from '../../util/json-parse.ts';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import { bodyText, readBody } from '../http/body.ts';
import { HttpProblem } from '../http/problem.ts';
import type { ServerEnv } from '../types.ts';
import { aggregateParam, countParam, everyParam, orderParam, timeParam, wantsCsv } from './query-params.ts';

const POINT_KEYS = new Set(['variable', 'timestamp', 'value', 'metadata']);

/** Deepest metadata the store takes (it refuses deeper ones). */
const MAX_METADATA_DEPTH = 64;

function depthOf(value: unknown, depth = 0): number {
  if (value === null || typeof value !== 'object' || depth > MAX_METADATA_DEPTH) return depth;
  let deepest = depth + 1;
  for (const v of Object.values(value)) deepest = Math.max(deepest, depthOf(v, depth + 1));
  return deepest;
}

/** Why a JSON point cannot be stored, or undefined: checked here so a refused batch creates no store. */
function jsonPointProblem(p: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(p).find((k) => !POINT_KEYS.has(k));
  if (unknown !== undefined) return `has an unknown key ${JSON.stringify(unknown.slice(0, 40))}`;
  const name = variableNameProblem(p.variable);
  if (name !== undefined) return `.variable ${name}`;
  if (!('value' in p)) return 'has no value';
  const { value, timestamp, metadata } = p;
  const valueOk =
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value));
  if (!valueOk) return '.value must be a number, string, boolean or null';
  if (
    timestamp !== undefined &&
    ((typeof timestamp !== 'string' && typeof timestamp !== 'number') ||
      parseTimestamp(timestamp) === undefined)
  )
    return '.timestamp must be an ISO 8601 string or epoch number (ms, or µs from 1e14) within the years 1685–2255';
  if (
    metadata !== undefined &&
    metadata !== null &&
    (typeof metadata !== 'object' || Array.isArray(metadata))
  )
    return '.metadata must be an object or null';
  if (depthOf(metadata) > MAX_METADATA_DEPTH)
    return `.metadata is nested deeper than ${MAX_METADATA_DEPTH} levels`;
  return undefined;
}

/** `[{variable, value, timestamp?, metadata?}]` or `{points: [...]}`, every point checked. */
export function jsonPoints(text: string, maxPoints: number, nowMicros: number): DataPointInput[] {
  let body: unknown;
  try {
    body = parseJson(text);
  } catch (error) {
    throw new HttpProblem(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(body) ? body : (body as { points?: unknown } | null)?.points;
  if (!Array.isArray(list))
    throw new HttpProblem(400, 'body must be a JSON array of points or {"points": [...]}');
  if (list.length > maxPoints)
    throw new HttpProblem(413, `body holds ${list.length} points, more than the limit of ${maxPoints}`, {
      details: { maxPoints },
    });
  const now = BigInt(nowMicros);
  return list.map((p: unknown, index) => {
    const problem =
      p === null || typeof p !== 'object' || Array.isArray(p)
        ? ' must be an object {variable, value, timestamp?, metadata?}'
        : jsonPointProblem(p as Record<string, unknown>);
    if (problem !== undefined)
      throw new HttpProblem(
        400,
        `points[${index}]${problem.startsWith('.') ? '' : ' '}${problem.trim()}; nothing was stored`,
        {
          details: { index },
        },
      );
    const { variable, value, timestamp, metadata } = p as Record<string, unknown>;
    return {
      variable: variable as string,
      value: value as DataPointInput['value'],
      timestamp: (timestamp as string | number | undefined) ?? now,
      metadata: (metadata as DataPointInput['metadata']) ?? null,
    };
  });
}

function pointRow(p: StoredPoint): Record<string, unknown> {
  return {
    variable: p.variable,
    timestamp: p.timestamp,
    micros: p.micros,
    value: p.value,
    ...(p.metadata ? { metadata: p.metadata } : {}),
  };
}

/** Rows as CSV with a header; objects as JSON text, booleans as true/false, null as empty. */
function csvOf(rows: Record<string, unknown>[], columns: string[]): string {
  return stringify(
    [
      columns,
      ...rows.map((r) =>
        columns.map((c) => (r[c] !== null && typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c])),
      ),
    ],
    { cast: { boolean: (v) => String(v) } },
  );
}

async function rawRows(
  store: TimeSeriesStore,
  variables: string[],
  c: { req: { query(k: string): string | undefined } },
  max: number,
) {
  const limit = countParam('limit', c.req.query('limit'), max);
  const order = orderParam(c.req.query('order'));
  const from = timeParam('from', c.req.query('from'));
  const to = timeParam('to', c.req.query('to'));
  const rows: Record<string, unknown>[] = [];
  const limited: string[] = [];
  for (const variable of variables) {
    const budget = limit ?? max - rows.length;
    const points = await store.queryAll(variable, { from, to, order, limit: budget + 1 });
    if (points.length > budget) {
      if (limit === undefined)
        throw new HttpProblem(
          400,
          `the query holds more than ${max} points: narrow from/to, pass limit, or ask for agg buckets`,
          {
            details: { maxQueryPoints: max },
          },
        );
      points.length = budget;
      limited.push(variable);
    }
    for (const p of points) rows.push(pointRow(p));
  }
  return { rows, limited };
}

export function timeseriesRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { tokens, limits } = ctx;

  app.post('/api/ts/:store/points', requireScope(tokens, 'write'), async (c) => {
    const name = c.req.param('store');
    const received = Date.now() * 1000;
    const text = bodyText(await readBody(c.req.raw, { maxBytes: limits.maxBodyBytes }));
    const points = jsonPoints(text, limits.maxPointsPerRequest, received);
    if (points.length > 0) {
      const store = await ctx.stores.forWrite(name);
      await store.storeDataPoints(points);
      ctx.metrics.points.inc({ store: name, protocol: 'json' }, points.length);
    }
    return c.body(null, 204);
  });

  app.get('/api/ts', requireScope(tokens, 'read'), async (c) => {
    const open = new Set(ctx.stores.openNames());
    const names = await ctx.stores.list();
    return c.json({ stores: names.map((name) => ({ name, open: open.has(name) })) });
  });

  app.get('/api/ts/:store', requireScope(tokens, 'read'), async (c) => {
    const name = c.req.param('store');
    const store = await ctx.stores.forRead(name);
    return c.json({ name, stats: await store.stats(), variables: await store.variables() });
  });

  app.get('/api/ts/:store/query', requireScope(tokens, 'read'), async (c) => {
    const name = c.req.param('store');
    const csv = wantsCsv(c.req.header('accept'), c.req.query('format'));
    const variables = c.req.queries('variable') ?? [];
    const latest = c.req.query('latest');
    const agg = c.req.query('agg');
    const store = await ctx.stores.forRead(name);
    if (latest !== undefined && latest !== 'false') {
      const rows: Record<string, unknown>[] = [];
      for (const p of await store.latest(variables.length > 0 ? variables : await store.variables()))
        if (p) rows.push(pointRow(p));
      return csv
        ? c.body(csvOf(rows, ['variable', 'timestamp', 'value', 'metadata']), 200, CSV)
        : c.json({ store: name, points: rows });
    }
    if (variables.length === 0)
      throw new HttpProblem(400, 'name at least one variable: ?variable=<name> (repeat for more)');
    if (agg !== undefined) {
      const fn = aggregateParam(agg);
      const every = everyParam(c.req.query('every'));
      const from = timeParam('from', c.req.query('from'));
      const to = timeParam('to', c.req.query('to'));
      const rows = (await store.aggregate(variables, { every, fn, from, to })).map((r) => ({
        variable: r.variable,
        bucket: r.bucket,
        micros: r.bucketMicros,
        value: r.value,
        count: r.count,
      }));
      if (rows.length > limits.maxQueryPoints)
        throw new HttpProblem(
          400,
          `the query holds more than ${limits.maxQueryPoints} buckets: widen every or narrow from/to`,
        );
      return csv
        ? c.body(csvOf(rows, ['variable', 'bucket', 'value', 'count']), 200, CSV)
        : c.json({ store: name, agg: fn, everyMs: every, rows });
    }
    const { rows, limited } = await rawRows(store, variables, c, limits.maxQueryPoints);
    return csv
      ? c.body(csvOf(rows, ['variable', 'timestamp', 'value', 'metadata']), 200, CSV)
      : c.json({ store: name, points: rows, ...(limited.length > 0 ? { limited } : {}) });
  });

  app.post('/api/ts/:store/compact', requireScope(tokens, 'admin'), async (c) => {
    const store = await ctx.stores.forRead(c.req.param('store'));
    return c.json(await store.compact());
  });

  return app;
}

const CSV = { 'Content-Type': 'text/csv; charset=utf-8' };
