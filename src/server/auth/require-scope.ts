/**
 * `requireScope(tokens, scope)`: middleware that lets a request through only with a token of that
 * scope — 401 without a token or with one that is not ours, 403 with a token of another scope.
 * A token is read from `Authorization: Token <t>` (InfluxDB's scheme), `Bearer <t>`, or `Basic`
 * with the token as password (InfluxDB 1.x clients: `influx -username u -password <t>`); on
 * routes that allow it, also from the `p` query parameter (InfluxDB 1.x's `/write?u=…&p=<t>`).
 */
import type { MiddlewareHandler } from 'hono';
import { HttpProblem } from '../http/problem.ts';
import type { ServerEnv } from '../types.ts';
import { allows, type Scope, type TokenSet } from './tokens.ts';

export interface RequireScopeOptions {
  /** Accept the token as the `p` query parameter (InfluxDB 1.x). @default false */
  queryPassword?: boolean;
}

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="sluice"' };

/** The token a request presents, if any. */
export function presentedToken(request: Request, queryPassword: boolean): string | undefined {
  const header = request.headers.get('authorization');
  if (header) {
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const rest = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'token' || scheme === 'bearer') return rest || undefined;
    if (scheme === 'basic') {
      const decoded = Buffer.from(rest, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
    }
    return undefined;
  }
  if (!queryPassword) return undefined;
  return new URL(request.url).searchParams.get('p') || undefined;
}

export function requireScope(
  tokens: TokenSet,
  scope: Scope,
  options: RequireScopeOptions = {},
): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const token = presentedToken(c.req.raw, options.queryPassword ?? false);
    if (token === undefined) {
      throw new HttpProblem(
        401,
        `this route needs a token with the ${scope} scope: send Authorization: Token <token>`,
        {
          headers: CHALLENGE,
        },
      );
    }
    const grant = tokens.verify(token);
    if (!grant) throw new HttpProblem(401, 'the token is not valid', { headers: CHALLENGE });
    if (!allows(grant, scope))
      throw new HttpProblem(403, `token ${grant.label} lacks the ${scope} scope this route needs`);
    c.set('grant', grant);
    await next();
  };
}
