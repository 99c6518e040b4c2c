/**
 * The lake for the dashboard, read scope: `GET /api/lake` (environments), `GET
 * /api/lake/<env>/datasets`, `GET /api/lake/<env>/dataset?path=<path>` (schema and a 50-row
 * preview), `GET /api/runs?env=&limit=` (pipeline runs and their steps), `GET
 * /api/promotions/<env>` (published version, promotions, backups); and `POST
 * /api/promotions/<env>/rollback` with the admin scope (body `{backup?, allowEmpty?}`).
 * Without a configured lake every route is a 404 saying so.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Environment } from '../../config/schema.ts';
import { parseJson } from '../../util/json-parse.ts';
import { requireScope } from '../auth/require-scope.ts';
import type { ServerContext } from '../context.ts';
import { bodyText, readBody } from '../http/body.ts';
import { HttpProblem } from '../http/problem.ts';
import { isEnvironment, type LakeService } from '../lake/lake-service.ts';
import type { ServerEnv } from '../types.ts';
import { countParam } from './query-params.ts';

const rollbackBody = z
  .object({
    backup: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'backup must be a backup id as the history lists it')
      .optional(),
    allowEmpty: z.boolean().optional(),
  })
  .strict();

function envParam(value: string): Environment {
  if (isEnvironment(value)) return value;
  throw new HttpProblem(
    400,
    `unknown environment ${JSON.stringify(value.slice(0, 40))}: use one of dev, qa, prod`,
  );
}

function parseRollback(text: string): z.output<typeof rollbackBody> {
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = parseJson(text);
  } catch (error) {
    throw new HttpProblem(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = rollbackBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpProblem(400, `rollback body: ${issue?.path.join('.') || '(body)'}: ${issue?.message}`);
  }
  return parsed.data;
}

export function lakeRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { tokens } = ctx;
  const lake = (): LakeService => {
    if (ctx.lake) return ctx.lake;
    throw new HttpProblem(404, 'this server has no lake: start it with a config file that names lakeRoot');
  };

  app.get('/api/lake', requireScope(tokens, 'read'), async (c) =>
    c.json({ root: lake().root, environments: await lake().environments() }),
  );

  app.get('/api/lake/:env/datasets', requireScope(tokens, 'read'), async (c) => {
    const env = envParam(c.req.param('env'));
    return c.json({ env, datasets: await lake().datasets(env) });
  });

  app.get('/api/lake/:env/dataset', requireScope(tokens, 'read'), async (c) => {
    const env = envParam(c.req.param('env'));
    const path = c.req.query('path');
    if (!path)
      throw new HttpProblem(400, 'name the dataset: ?path=<path in the env, e.g. staging/x.parquet>');
    return c.json({ env, ...(await lake().dataset(env, path)) });
  });

  app.get('/api/runs', requireScope(tokens, 'read'), async (c) => {
    const env = envParam(c.req.query('env') ?? lake().config.env);
    const limit = countParam('limit', c.req.query('limit'), 100) ?? 20;
    return c.json({ env, runs: await lake().runs(env, limit) });
  });

  app.get('/api/promotions/:env', requireScope(tokens, 'read'), async (c) =>
    c.json(await lake().history(envParam(c.req.param('env')))),
  );

  app.post('/api/promotions/:env/rollback', requireScope(tokens, 'admin'), async (c) => {
    const env = envParam(c.req.param('env'));
    const body = parseRollback(bodyText(await readBody(c.req.raw, { maxBytes: 64 * 1024 })));
    const result = await lake().rollback(env, body.backup, body.allowEmpty ?? false);
    ctx.log.info({ env, restored: result.restored, caller: c.get('grant').label }, 'rollback');
    return c.json(result);
  });

  return app;
}
