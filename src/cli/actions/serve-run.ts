/**
 * `sluice serve`: starts the HTTP server, then the pollers and workers of the `serve:` section
 * (each as `sluice poll` / `sluice worker` would run, counting into the server's /metrics), and
 * runs until SIGINT/SIGTERM; the server runs the section's schedules itself. Then, within the grace
 * period: /readyz answers 503, the schedules' timers stop and runs in flight finish (or are
 * abandoned, and named), the socket stops accepting and drains requests in flight, pollers give
 * back their leases and workers their jobs, and the stores close. A poller or worker that fails stops the whole service (exit 1), so a
 * supervisor restarts it rather than leaving it half-running.
 */
import type { Command } from 'commander';
import { Config } from '../../config/config.ts';
import { locateConfigFile } from '../../config/names.ts';
import { storageOptionsFrom } from '../../config/storage-options.ts';
import type { ClosableSignalStore } from '../../jobs/signal-store.ts';
import { configureLogging, getLogger, type LogLevel } from '../../logging/logger.ts';
import { createPollerMetrics, createRegistry, createWorkerMetrics } from '../../metrics/registry.ts';
import type { ScheduleStopSummary } from '../../server/schedules/types.ts';
import { type RunningServer, type StopSummary, startServer } from '../../server/service.ts';
import {
  readServeSection,
  resolveServeSettings,
  type ServeFlags,
  type ServeSettings,
} from '../../server/settings.ts';
import type { ServeCommandOptions } from '../commands/serve.ts';
import { commandSignal, describeInterruption, setStopGrace } from '../signals.ts';
import { connectTimeoutMs } from './queue-flags.ts';
import { runPoller } from './queue-poll.ts';
import { worker } from './queue-worker.ts';
import {
  type DemoProject,
  demoTasks,
  demoToken,
  findDemoProject,
  seedDemoInbox,
  seedDemoStore,
} from './serve-demo.ts';
import { resolvePollerEntry, resolveWorkerEntry } from './serve-entries.ts';

/** Time pollers and workers take to give back what they hold, beyond the HTTP drain. */
const TASKS_STOP_MS = 3000;

/** A service logs its requests: info unless --log-level or SLUICE_LOG_LEVEL says otherwise. */
function logRequestsByDefault(cmd: Command): void {
  const root = cmd.parent;
  if (!root || root.getOptionValueSource('logLevel') === 'cli' || process.env.SLUICE_LOG_LEVEL) return;
  const format = root.opts<{ logFormat?: 'human' | 'json' }>().logFormat;
  configureLogging({ level: 'info' as LogLevel, ...(format ? { format } : {}) });
}

function flagsOf(opts: ServeCommandOptions): ServeFlags {
  return {
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.tsRoot === undefined ? {} : { timeseriesRoot: opts.tsRoot }),
    ...(opts.shutdownGrace === undefined ? {} : { shutdownGraceMs: opts.shutdownGrace }),
  };
}

export async function serve(opts: ServeCommandOptions, cmd: Command): Promise<void> {
  logRequestsByDefault(cmd);
  const demo =
    opts.demo === undefined ? undefined : findDemoProject(opts.demo === true ? undefined : opts.demo);
  const file = locateConfigFile(opts.config ?? demo?.configFile);
  const config = Config.load(file ? { file } : {});
  const settings = withDemoTasks(
    resolveServeSettings({
      file,
      section: readServeSection(file),
      flags: flagsOf(opts),
      dataDir: config.dataDir,
    }),
    demo,
  );
  // Every entry is checked before anything starts or binds.
  const pollers = settings.pollers.map((e, i) => resolvePollerEntry(e, i, file));
  const workers = settings.workers.map((e, i) => resolveWorkerEntry(e, i, file));
  setStopGrace(settings.shutdownGraceMs + TASKS_STOP_MS);
  const envTokens = process.env.SLUICE_API_TOKENS ?? '';
  const token = demo ? demoToken(settings.tokens !== undefined || envTokens.trim() !== '') : undefined;
  if (demo) await seedDemo(demo, settings, storageOptionsFrom(config));
  const registry = createRegistry();
  const pollerMetrics = createPollerMetrics(registry);
  const workerMetrics = createWorkerMetrics(registry);
  const server = await startServer({
    settings,
    tokensEnv: [envTokens, token ? `admin:${token}` : ''].filter((t) => t.trim() !== '').join(','),
    pipelineConfig: config,
    storageOptions: storageOptionsFrom(config),
    registry,
    pollers,
    pollerMetrics,
    workerMetrics,
    queues: [
      ...pollers.map((p) => ({ url: p.queue, name: p.queueName })),
      ...workers.map((w) => ({ url: w.options.queue as string, name: w.options.queueName })),
    ],
  });
  announce(server, settings, token);

  const stop = new AbortController();
  const onSignal = () => stop.abort(commandSignal().reason);
  commandSignal().addEventListener('abort', onSignal, { once: true });
  const stopLines: (() => string)[] = [];
  const describe = (line: () => string) => stopLines.push(line);
  let stopped: StopSummary = { cutOff: 0, schedules: { finished: [], abandoned: [] } };
  describeInterruption(() =>
    [
      `HTTP server stopped (${stopped.cutOff === 0 ? 'no request cut off' : `${stopped.cutOff} requests cut off after the grace period`})`,
      ...(settings.schedules.length > 0 ? [describeScheduleStop(stopped.schedules)] : []),
      ...stopLines.map((l) => l()),
    ].join('; '),
  );
  const log = getLogger('serve');
  const tasks = [
    ...pollers.map((cfg) =>
      runPoller(cfg, {
        connectTimeoutMs: connectTimeoutMs(undefined),
        metrics: pollerMetrics,
        describe,
        signal: stop.signal,
      }),
    ),
    ...workers.map((w) =>
      worker(w.options, {
        metrics: workerMetrics,
        describe,
        signal: stop.signal,
        onSummary: (summary) => log.info(summary, 'worker stopped'),
        ...(w.timeseries ? { openStore: () => serverStore(server, w.timeseries as string) } : {}),
      }),
    ),
  ];
  let failure: unknown;
  // Pollers and workers run until stopped; one that fails ends the service.
  const failed = new Promise<void>((resolve) => {
    Promise.all(tasks).catch((error: unknown) => {
      failure = error;
      resolve();
    });
  });
  try {
    await Promise.race([
      new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true })),
      failed,
    ]);
  } finally {
    commandSignal().removeEventListener('abort', onSignal);
    stop.abort(new DOMException('sluice serve stopping', 'AbortError'));
    const [summary] = await Promise.all([server.stop(), Promise.allSettled(tasks)]);
    stopped = summary;
  }
  if (failure) throw failure;
}

/** With --demo, the demo's poller and worker beside those of the config. */
function withDemoTasks(settings: ServeSettings, demo: DemoProject | undefined): ServeSettings {
  if (!demo) return settings;
  const tasks = demoTasks(demo);
  return {
    ...settings,
    pollers: [...settings.pollers, ...tasks.pollers],
    workers: [...settings.workers, ...tasks.workers],
  };
}

/** The demo's sample store and inbox, on the first run only. */
async function seedDemo(
  demo: DemoProject,
  settings: ServeSettings,
  storage: ReturnType<typeof storageOptionsFrom>,
): Promise<void> {
  if (await seedDemoStore(settings.timeseriesRoot, storage))
    process.stderr.write(
      'sluice serve: made the time-series store plant with three days of sample readings\n',
    );
  if (await seedDemoInbox(demo))
    process.stderr.write(
      `sluice serve: made ${demo.dir}/inbox/ with three files for the demo's poller (files dropped there later are polled too)\n`,
    );
}

/**
 * The address really bound, on stderr (port 0 picks a free one), and what the API needs. A token
 * made for a --demo run is printed here, once, and nowhere else (never logged).
 */
function announce(server: RunningServer, settings: ServeSettings, demoToken: string | undefined): void {
  const tokens = server.context.tokens.countByScope();
  process.stderr.write(
    `sluice serve: listening on ${server.url} (time-series stores under ${settings.timeseriesRoot})\n`,
  );
  if (settings.dashboard) process.stderr.write(`sluice serve: dashboard on ${server.url}/\n`);
  for (const s of server.context.schedules.list())
    process.stderr.write(
      `sluice serve: schedule ${s.name} (${s.cron}, ${s.timezone}) runs the pipeline (${s.mode}, ${s.env}); next at ${s.nextRunAt ?? 'never'}\n`,
    );
  if (demoToken)
    process.stderr.write(
      `sluice serve: admin token for this run (printed once, stored nowhere): ${demoToken}\n`,
    );
  if (tokens.write + tokens.admin === 0)
    process.stderr.write(
      'sluice serve: no write token: writes answer 401; set SLUICE_API_TOKENS=write:<token>,read:<token> or serve.tokens\n',
    );
  if (tokens.read + tokens.admin === 0)
    process.stderr.write('sluice serve: no read token: queries answer 401 (see SLUICE_API_TOKENS)\n');
}

function describeScheduleStop(s: ScheduleStopSummary): string {
  const parts = [
    ...s.finished.map((name) => `scheduled run of ${name} finished`),
    ...s.abandoned.map((name) => `scheduled run of ${name} abandoned after the grace period`),
  ];
  return parts.length > 0 ? parts.join('; ') : 'schedules stopped, no run in flight';
}

/** One of the server's stores for a worker's handler; the server closes it, not the worker. */
async function serverStore(server: RunningServer, name: string): Promise<ClosableSignalStore> {
  const store = await server.context.stores.forWrite(name);
  return {
    storeDataPoint: (variable, timestamp, value, metadata) =>
      store.storeDataPoint(variable, timestamp, value, metadata ?? null),
    close: async () => {},
  };
}
