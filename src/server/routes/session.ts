/**
 * `GET /api/whoami`: what the presented token may do — `{label, scopes}` (the label as logs name
 * it, `read#1`; never the token) — for any valid token, 401 otherwise. The dashboard checks a
 * token with it when it is entered, and hides actions the token's scopes do not allow.
 */
import { Hono } from 'hono';
import { presentedToken } from '../auth/require-scope.ts';
import { allows, SCOPES } from '../auth/tokens.ts';
import type { ServerContext } from '../context.ts';
import { HttpProblem } from '../http/problem.ts';
import type { ServerEnv } from '../types.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="sluice"' };

export function sessionRoutes(ctx: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.get('/api/whoami', (c) => {
    const token = presentedToken(c.req.raw, false);
    if (token === undefined)
      throw new HttpProblem(401, 'send a token: Authorization: Bearer <token>', { headers: CHALLENGE });
    const grant = ctx.tokens.verify(token);
    if (!grant) throw new HttpProblem(401, 'the token is not valid', { headers: CHALLENGE });
    c.set('grant', grant);
    return c.json({ label: grant.label, scopes: SCOPES.filter((s) => allows(grant, s)) });
  });
  return app;
}
