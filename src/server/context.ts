/** Everything the routes share: stores, tokens, limits, metrics, readiness and the logger. */
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger.ts';
import type { HttpMetrics } from '../metrics/http.ts';
import type { TokenSet } from './auth/tokens.ts';
import type { LakeService } from './lake/lake-service.ts';
import type { PollerRegistry } from './pollers.ts';
import type { QueueRegistry } from './queues.ts';
import type { RateWindow } from './rates.ts';
import type { Readiness } from './readiness.ts';
import type { Scheduler } from './schedules/scheduler.ts';
import type { StoreRegistry } from './stores.ts';

export interface ServerLimits {
  /** Largest request body, before and after gzip inflation (413 beyond). */
  maxBodyBytes: number;
  /** Most points one write request may carry (413 beyond); a line protocol field is one point. */
  maxPointsPerRequest: number;
  /** Most points one query answers with; a larger range is refused (400), never cut short silently. */
  maxQueryPoints: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxPointsPerRequest: 200_000,
  maxQueryPoints: 500_000,
};

export interface ServerContext {
  stores: StoreRegistry;
  /** The queues of the process's pollers and workers. */
  queues: QueueRegistry;
  /** The process's pollers (settings, counters, failed objects). */
  pollers: PollerRegistry;
  /** The lake of the config, when the server has one (the dashboard's lake, runs and promotions). */
  lake: LakeService | undefined;
  /** The scheduled pipeline runs of `serve.schedules` (none: an empty scheduler). */
  schedules: Scheduler;
  /** Rates of the counters the API answers with. */
  rates: RateWindow;
  /** Serve the dashboard at `/`. */
  dashboard: boolean;
  tokens: TokenSet;
  limits: ServerLimits;
  metrics: HttpMetrics;
  /** What `/metrics` exposes: the HTTP metrics and every other sluice_* metric of the process. */
  registry: Registry;
  readiness: Readiness;
  log: Logger;
  /** Set when shutdown begins: `/readyz` answers 503 so load balancers stop sending. */
  lifecycle: { stopping: boolean; startedAt: number };
}
