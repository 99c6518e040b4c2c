/**
 * `GET /api/ts/<store>/series?variable=…&from=&to=&width=&agg=` (read scope): what the dashboard's
 * chart draws. The range is downsampled in the store (its `aggregate`) into about `width` buckets
 * — one per pixel of the chart — whatever the number of points in it, so a range of 10 M points
 * answers with ~1,000 buckets, and a zoom asks again for the narrower range at a finer width.
 * Widths are rounded up to a "nice" step (1 s, 5 s, 1 min, 1 h, …) so buckets stay aligned while
 * the user pans and zooms. The answer is column-oriented, as uPlot takes it: `x` (bucket starts in
 * epoch seconds) and one `y` array per variable (null where a bucket holds no numeric value).
 */
import { Hono } from 'hono';
import { type AggregateRow, parseTimestamp } from '../../timeseries/index.ts';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import { HttpProblem } from '../http/problem.ts';
import type { ServerEnv } from '../types.ts';
import { aggregateParam, countParam, timeParam } from './query-params.ts';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;
/** Bucket widths in ms, smallest first. */
const NICE_MS = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  S,
  2 * S,
  5 * S,
  10 * S,
  15 * S,
  30 * S,
  MIN,
  2 * MIN,
  5 * MIN,
  10 * MIN,
  15 * MIN,
  30 * MIN,
  H,
  2 * H,
  3 * H,
  6 * H,
  12 * H,
  D,
  2 * D,
  7 * D,
  14 * D,
  30 * D,
];

export const DEFAULT_WIDTH = 1000;
export const MAX_WIDTH = 4000;
export const MAX_SERIES = 20;

/** The nice bucket width (ms) that splits `spanMs` into at most about `width` buckets. */
export function bucketWidthMs(spanMs: number, width: number): number {
  const raw = Math.max(spanMs, 1) / width;
  return NICE_MS.find((n) => n >= raw) ?? Math.ceil(raw / D) * D;
}

/** A bucket's value as a chart can draw it. */
function plotted(value: AggregateRow['value']): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

/** Rows of several variables as uPlot columns: shared x, one y per variable. */
export function toColumns(rows: readonly AggregateRow[], variables: readonly string[]) {
  const xs = [...new Set(rows.map((r) => r.bucketMicros))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const index = new Map(variables.map((v, i) => [v, i]));
  const y = variables.map(() => new Array<number | null>(xs.length).fill(null));
  const counts = variables.map(() => 0);
  for (const r of rows) {
    const v = index.get(r.variable);
    const i = at.get(r.bucketMicros);
    if (v === undefined || i === undefined) continue;
    (y[v] as (number | null)[])[i] = plotted(r.value);
    counts[v] = (counts[v] as number) + r.count;
  }
  return { x: xs.map((m) => m / 1e6), y, counts };
}

export function seriesRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();

  app.get('/api/ts/:store/series', requireScope(ctx.tokens, 'read'), async (c) => {
    const name = c.req.param('store');
    const variables = [...new Set(c.req.queries('variable') ?? [])];
    if (variables.length === 0)
      throw new HttpProblem(400, 'name at least one variable: ?variable=<name> (repeat for more)');
    if (variables.length > MAX_SERIES)
      throw new HttpProblem(400, `at most ${MAX_SERIES} variables per chart, got ${variables.length}`);
    const width = countParam('width', c.req.query('width'), MAX_WIDTH) ?? DEFAULT_WIDTH;
    const agg = aggregateParam(c.req.query('agg') ?? 'avg');
    const store = await ctx.stores.forRead(name);
    let from = timeParam('from', c.req.query('from'));
    let to = timeParam('to', c.req.query('to'));
    if (from === undefined || to === undefined) {
      const stats = await store.stats();
      const first = stats.minTimestamp === undefined ? undefined : parseTimestamp(stats.minTimestamp);
      const last = stats.maxTimestamp === undefined ? undefined : parseTimestamp(stats.maxTimestamp);
      from ??= first === undefined ? undefined : BigInt(first);
      // `to` is exclusive: the last point is in the range.
      to ??= last === undefined ? undefined : BigInt(last) + 1n;
    }
    if (from === undefined || to === undefined)
      return c.json({
        store: name,
        agg,
        everyMs: null,
        from: null,
        to: null,
        variables,
        x: [],
        y: variables.map(() => []),
        counts: variables.map(() => 0),
        points: 0,
      });
    if (to <= from) throw new HttpProblem(400, 'to must be after from');
    const everyMs = bucketWidthMs(Number(to - from) / 1000, width);
    const rows = await store.aggregate(variables, { every: everyMs, fn: agg, from, to });
    const { x, y, counts } = toColumns(rows, variables);
    return c.json({
      store: name,
      agg,
      everyMs,
      from: Number(from) / 1e6,
      to: Number(to) / 1e6,
      variables,
      x,
      y,
      counts,
      points: counts.reduce((s, n) => s + n, 0),
    });
  });

  return app;
}
