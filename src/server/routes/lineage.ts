/**
 * The lineage of the lake's files (docs/lineage.md, docs/serve.md):
 * - `GET /api/lineage?url=<key in the lake, or a URL/path inside it>&direction=up|down&depth=N`
 *   (read scope): the tree `lineageOf` walks, each lake file of it checked against its record;
 * - `GET /api/lineage/verify?root=<lake folder>&all=1` (admin scope: it re-hashes every file the
 *   log names): `verifyLineage`'s report, the outputs that are not ok (all of them with `all=1`).
 * A URL outside the lake is refused (400, E010); a file with neither bytes nor record is a 404 (E011).
 */
import { Hono } from 'hono';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import { HttpProblem } from '../http/problem.ts';
import type { LakeService } from '../lake/lake-service.ts';
import { type LineageDirection, LineageService } from '../lake/lineage-service.ts';
import type { ServerEnv } from '../types.ts';
import { countParam } from './query-params.ts';

/** Deepest walk a request may ask for. */
export const MAX_LINEAGE_DEPTH = 50;

function directionParam(value: string | undefined): LineageDirection {
  if (value === undefined || value === '' || value === 'up') return 'up';
  if (value === 'down') return 'down';
  throw new HttpProblem(400, `direction must be up or down, got ${JSON.stringify(value.slice(0, 40))}`);
}

function flagParam(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new HttpProblem(400, `${name} must be 1 or 0, got ${JSON.stringify(value.slice(0, 40))}`);
}

export function lineageRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { tokens } = ctx;
  let service: { lake: LakeService; lineage: LineageService } | undefined;
  const lineage = (): { lake: LakeService; lineage: LineageService } => {
    const lake = ctx.lake;
    if (!lake)
      throw new HttpProblem(404, 'this server has no lake: start it with a config file that names lakeRoot');
    if (service?.lake !== lake)
      service = { lake, lineage: new LineageService(lake.storage, lake.storageOptions) };
    return service;
  };

  app.get('/api/lineage', requireScope(tokens, 'read'), async (c) => {
    const { lake, lineage: lineageOfLake } = lineage();
    const url = c.req.query('url');
    if (!url)
      throw new HttpProblem(
        400,
        'name the file: ?url=<its key in the lake, e.g. qa/staging/x.parquet, or its URL>',
      );
    const direction = directionParam(c.req.query('direction'));
    const depth = countParam('depth', c.req.query('depth'), MAX_LINEAGE_DEPTH) ?? 20;
    return c.json({ root: lake.root, ...(await lineageOfLake.tree(url, direction, depth)) });
  });

  app.get('/api/lineage/verify', requireScope(tokens, 'admin'), async (c) => {
    const { lake, lineage: lineageOfLake } = lineage();
    const all = flagParam('all', c.req.query('all'));
    const report = await lineageOfLake.verify(c.req.query('root') ?? '');
    ctx.log.info(
      {
        prefix: report.prefix,
        checked: report.checked,
        corrupt: report.corrupt,
        caller: c.get('grant').label,
      },
      'lineage verify',
    );
    const outputs = all ? report.outputs : report.outputs.filter((o) => o.status !== 'ok');
    return c.json({ root: lake.root, ...report, outputs });
  });

  return app;
}
