/**
 * `observeRequests(metrics, log)`: middleware that counts and times every request by its route
 * pattern and status, and writes one log line per request with the query's secrets masked —
 * parameters with a sensitive name (`token`, `api_key`, …) and InfluxDB 1.x's password `p` — so
 * a token passed in a URL never reaches a log.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../../logging/logger.ts';
import type { HttpMetrics } from '../../metrics/http.ts';
import { isSensitiveName, maskSecretsInString } from '../../secrets/mask.ts';
import type { ServerEnv } from '../types.ts';

/** Query parameters that hold a secret whatever the vocabulary says (InfluxDB 1.x's password). */
const ALWAYS_MASKED = new Set(['p', 'password', 'token']);
const MASK = '********';

/** `path?query` with every secret-bearing parameter's value masked. */
export function maskedTarget(url: string): string {
  const u = new URL(url);
  const params = [...u.searchParams];
  if (params.length === 0) return u.pathname;
  const query = params
    .map(([k, v]) => {
      const secret = ALWAYS_MASKED.has(k.toLowerCase()) || isSensitiveName(k);
      return `${encodeURIComponent(k)}=${secret ? MASK : encodeURIComponent(v)}`;
    })
    .join('&');
  return maskSecretsInString(`${u.pathname}?${query}`);
}

/** The matched route's pattern, or `unmatched` (a 404 must not mint one label per path asked). */
function routeLabel(c: Context<ServerEnv>): string {
  const route = routePath(c, -1);
  return !route || route === '*' || route === '/*' ? 'unmatched' : route;
}

export function observeRequests(metrics: HttpMetrics, log: Logger): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const started = performance.now();
    metrics.inFlight.inc();
    try {
      await next();
    } finally {
      metrics.inFlight.dec();
      const seconds = (performance.now() - started) / 1000;
      const route = routeLabel(c);
      const method = c.req.method;
      const status = c.res.status;
      metrics.requests.inc({ method, route, status: String(status) });
      metrics.duration.observe({ method, route }, seconds);
      const grant = c.get('grant') as ServerEnv['Variables']['grant'] | undefined;
      const line = {
        method,
        target: maskedTarget(c.req.url),
        route,
        status,
        ms: Math.round(seconds * 10_000) / 10,
        // The token's label (write#1), never its value.
        ...(grant?.label ? { caller: grant.label } : {}),
      };
      if (status >= 500) log.error(line, 'request failed');
      else log.info(line, 'request');
    }
  };
}
