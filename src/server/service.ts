/**
 * The service as a library: `createServer(options)` wires the stores, tokens, metrics and
 * readiness into the Hono app (for `app.request` in tests), and `startServer(options)` also
 * serves it on a socket and starts the scheduled pipeline runs. `stop()` runs the shutdown in
 * order: readiness turns 503 and the schedules' timers stop, the socket stops accepting and drains
 * while runs in flight finish, both within the grace period, then the stores close (their
 * acknowledged points are already durable) — safe to call twice.
 */
import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.ts';
import { getLogger, type Logger } from '../logging/logger.ts';
import { createHttpMetrics } from '../metrics/http.ts';
import { createRegistry, type PollerMetrics, type WorkerMetrics } from '../metrics/registry.ts';
import { createScheduleMetrics } from '../metrics/schedule.ts';
import type { PollerConfig } from '../poller/config.ts';
import type { OpenStorageOptions } from '../storage/open.ts';
import { createServerApp } from './app.ts';
import { TokenSet } from './auth/tokens.ts';
import type { ServerContext } from './context.ts';
import { checkDashboardFiles } from './dashboard/assets.ts';
import { LakeService } from './lake/lake-service.ts';
import { type HttpListener, listen } from './listen.ts';
import { PollerRegistry } from './pollers.ts';
import { QueueRegistry } from './queues.ts';
import { RateWindow } from './rates.ts';
import { type Dependency, queueDependency, Readiness, storageDependency } from './readiness.ts';
import { resolveSchedules, Scheduler } from './schedules/scheduler.ts';
import type { RunScheduled, ScheduleStopSummary } from './schedules/types.ts';
import type { ServeSettings } from './settings.ts';
import { StoreRegistry } from './stores.ts';
import type { ServerEnv } from './types.ts';

export interface CreateServerOptions {
  settings: ServeSettings;
  /** `SLUICE_API_TOKENS`, joined with the settings' tokens. @default process.env.SLUICE_API_TOKENS */
  tokensEnv?: string;
  /** The lake's root, checked by /readyz when given. @default pipelineConfig.lakeRoot */
  lakeRoot?: string;
  /** The pipeline's configuration: its lake is what the dashboard's lake, runs and promotions show. */
  pipelineConfig?: Config;
  /** S3 endpoint, region and keys for storage roots on S3. */
  storageOptions?: OpenStorageOptions;
  /** Queues the process uses (its pollers' and workers'), checked by /readyz. */
  queues?: readonly { url: string; name: string }[];
  /** The process's pollers, shown by /api/pollers (their metrics are pollerMetrics). */
  pollers?: readonly PollerConfig[];
  /** The metrics the process's pollers and workers count into (on `registry`). */
  pollerMetrics?: PollerMetrics;
  workerMetrics?: WorkerMetrics;
  /** The registry /metrics serves; pollers and workers of the process register on it too. */
  registry?: Registry;
  /** Runs one of `settings.schedules`' runs. @default the schedule's Pipeline, recorded in its run history */
  runSchedule?: RunScheduled;
  log?: Logger;
}

export interface ServerHandle {
  app: Hono<ServerEnv>;
  context: ServerContext;
  /** Marks the server stopping, stops the schedules (waiting for runs within the grace) and closes the stores. */
  close(): Promise<void>;
}

export function createServer(options: CreateServerOptions): ServerHandle {
  const { settings } = options;
  const registry = options.registry ?? createRegistry();
  const metrics = createHttpMetrics(registry);
  const stores = new StoreRegistry({
    root: settings.timeseriesRoot,
    autoCreate: settings.autoCreate,
    storeOptions: {
      durability: settings.durability,
      ...(options.storageOptions ? { storage: options.storageOptions } : {}),
    },
  });
  const dependencies: Dependency[] = [
    storageDependency('timeseries root', settings.timeseriesRoot, options.storageOptions),
  ];
  const lakeRoot = options.lakeRoot ?? options.pipelineConfig?.lakeRoot;
  if (lakeRoot) dependencies.push(storageDependency('lake', lakeRoot, options.storageOptions));
  // A missing dashboard file is a broken install: say so at start, not on a user's first click.
  if (settings.dashboard) checkDashboardFiles();
  const seen = new Set<string>();
  for (const q of options.queues ?? []) {
    const key = `${q.url}\n${q.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    dependencies.push(queueDependency(q.url, q.name));
  }
  const queues = new QueueRegistry(options.queues ?? []);
  const lake = options.pipelineConfig
    ? new LakeService(options.pipelineConfig, options.storageOptions)
    : undefined;
  const log = options.log ?? getLogger('serve');
  const schedules = new Scheduler({
    schedules: resolveSchedules(settings.schedules, options.pipelineConfig),
    metrics: createScheduleMetrics(registry),
    log,
    ...(options.runSchedule ? { run: options.runSchedule } : {}),
  });
  const context: ServerContext = {
    stores,
    queues,
    pollers: new PollerRegistry({
      ...(options.pollers ? { pollers: options.pollers } : {}),
      ...(options.pollerMetrics ? { pollerMetrics: options.pollerMetrics } : {}),
      ...(options.workerMetrics ? { workerMetrics: options.workerMetrics } : {}),
    }),
    lake,
    schedules,
    rates: new RateWindow(),
    dashboard: settings.dashboard,
    tokens: TokenSet.from({
      ...(settings.tokens === undefined ? {} : { config: settings.tokens }),
      env: options.tokensEnv ?? process.env.SLUICE_API_TOKENS ?? '',
    }),
    limits: settings.limits,
    metrics,
    registry,
    readiness: new Readiness(dependencies, { metrics }),
    log,
    lifecycle: { stopping: false, startedAt: Date.now() },
  };
  const app = createServerApp(context);
  return {
    app,
    context,
    async close() {
      context.lifecycle.stopping = true;
      await schedules.stop(settings.shutdownGraceMs);
      await Promise.all([stores.close(), queues.close(), lake?.close()]);
    },
  };
}

export interface StopSummary {
  /** Requests still running when the grace period ended, whose connections were cut. */
  cutOff: number;
  /** Scheduled runs that were in flight: finished within the grace period, or abandoned. */
  schedules: ScheduleStopSummary;
}

export interface RunningServer extends ServerHandle {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Requests being answered now. */
  inFlight(): number;
  /** Graceful stop within the settings' grace period. */
  stop(): Promise<StopSummary>;
}

export async function startServer(options: CreateServerOptions): Promise<RunningServer> {
  const handle = createServer(options);
  let listener: HttpListener;
  try {
    listener = await listen(handle.app, { host: options.settings.host, port: options.settings.port });
  } catch (error) {
    await handle.close();
    throw error;
  }
  handle.context.schedules.start();
  let stopping: Promise<StopSummary> | undefined;
  return {
    ...handle,
    url: listener.url,
    host: listener.host,
    port: listener.port,
    inFlight: () => listener.inFlight(),
    stop() {
      stopping ??= (async () => {
        handle.context.lifecycle.stopping = true;
        const grace = options.settings.shutdownGraceMs;
        // Timers stop at once; the HTTP drain and the runs in flight share the grace period.
        const [{ cutOff }, schedules] = await Promise.all([
          listener.close(grace),
          handle.context.schedules.stop(grace),
        ]);
        await handle.close();
        return { cutOff, schedules };
      })();
      return stopping;
    },
  };
}
