/** `sluice poll`: watch a storage location and turn every record of every new object into a job. */
import { createPollerMetrics, type PollerMetrics } from '../../metrics/registry.ts';
import { type MetricsServer, startMetricsServer } from '../../metrics/server.ts';
import { type PollerConfig, resolvePollerConfig } from '../../poller/config.ts';
import { openPollerState } from '../../poller/open-state.ts';
import { Poller } from '../../poller/poller.ts';
import { sourceScope } from '../../poller/source.ts';
import { openQueue } from '../../queue/open.ts';
import { assertLocalRootExists } from '../../storage/local-root.ts';
import { openStorage, parseStorageUrl } from '../../storage/open.ts';
import { printJson } from '../output.ts';
import { createProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import { connectTimeoutMs } from './queue-flags.ts';
import {
  checkRedisReachable,
  POLL_STOP_GRACE_MS,
  parkAfterStop,
  trackLeases,
  untilStopped,
} from './queue-stop.ts';

/** Poll flags as commander parsed them: durations in ms, sizes in bytes, counts and ports as numbers. */
export interface PollFlags {
  source?: string;
  queue?: string;
  queueName?: string;
  state?: string;
  once?: boolean;
  interval?: number;
  processedPrefix?: string;
  failedPrefix?: string;
  minAge?: number;
  concurrency?: number;
  metricsPort?: number;
  metricsHost?: string;
  jobName?: string;
  jsonArray?: string;
  maxBacklog?: number;
  maxObjectSize?: number;
  maxRecordSize?: number;
  transientAttempts?: number;
  retryDelay?: number;
  readIdleTimeout?: number;
  config?: string;
  connectTimeout?: string;
}

export async function poll(flags: PollFlags): Promise<void> {
  const {
    once,
    config: file,
    interval,
    minAge,
    retryDelay,
    readIdleTimeout,
    connectTimeout,
    ...typed
  } = flags;
  const connectMs = connectTimeoutMs(connectTimeout);
  // The settings schema reads a bare number as seconds (the seed's env var): pass ms with their unit.
  const rest = {
    ...typed,
    ...(interval === undefined ? {} : { interval: `${interval}ms` }),
    ...(minAge === undefined ? {} : { minAge: `${minAge}ms` }),
    ...(retryDelay === undefined ? {} : { retryDelay: `${retryDelay}ms` }),
    ...(readIdleTimeout === undefined ? {} : { readIdleTimeout: `${readIdleTimeout}ms` }),
  };
  const cfg = resolvePollerConfig(file ? { flags: rest, file } : { flags: rest });
  await runPoller(cfg, {
    connectTimeoutMs: connectMs,
    ...(once ? { once } : {}),
  });
}

export interface RunPollerOptions {
  connectTimeoutMs: number;
  /** Poll once and print the summary. @default false */
  once?: boolean;
  /** Overrides the settings' metricsHost (the metrics server runs only when they name a port). */
  metricsHost?: string;
  /**
   * Metrics to count into instead of the poller's own registry and metrics server: `sluice serve`
   * shares one registry (its /metrics) among the pollers and workers it runs.
   */
  metrics?: PollerMetrics;
  /** Where the stop line goes. @default describeInterruption (one command, one poller) */
  describe?: (line: () => string) => void;
  /** Stops the poller. @default commandSignal() (SIGINT/SIGTERM) */
  signal?: AbortSignal;
}

/** Runs one poller of resolved settings until stopped by SIGINT/SIGTERM (or once). */
export async function runPoller(cfg: PollerConfig, options: RunPollerOptions): Promise<void> {
  const { once, connectTimeoutMs: connectMs } = options;
  // A local source folder that does not exist is a typo, not an empty inbox: E011 before any
  // queue or state database is created for it.
  if (parseStorageUrl(cfg.source).kind === 'fs')
    await assertLocalRootExists(openStorage(cfg.source), 'source folder');
  const signal = options.signal ?? commandSignal();
  const queue = openQueue(cfg.queue, { name: cfg.queueName, connectTimeoutMs: connectMs });
  const state = trackLeases(
    openPollerState(cfg.state, cfg.queue, sourceScope(cfg.source), { connectTimeoutMs: connectMs }),
    signal,
  );
  const metrics = options.metrics ?? createPollerMetrics();
  let server: MetricsServer | undefined;
  // Objects finished in each poll cycle: a bar that starts over each cycle, or log lines.
  const progress = createProgressReporter();
  const poller = new Poller({
    source: cfg.source,
    queue: parkAfterStop(queue, signal),
    state,
    metrics,
    processedPrefix: cfg.processedPrefix,
    failedPrefix: cfg.failedPrefix,
    minAgeMs: cfg.minAge,
    concurrency: cfg.concurrency,
    jobName: cfg.jobName,
    jsonArray: cfg.jsonArray,
    maxBacklog: cfg.maxBacklog,
    maxObjectBytes: cfg.maxObjectSize,
    maxRecordBytes: cfg.maxRecordSize,
    maxRecordBytesName: '--max-record-size',
    transientAttempts: cfg.transientAttempts,
    retryDelayMs: cfg.retryDelay,
    readIdleTimeoutMs: cfg.readIdleTimeout,
    ...(cfg.leaseMs ? { leaseMs: cfg.leaseMs } : {}),
    onProgress: (e) => progress.update(e),
  });
  (options.describe ?? describeInterruption)(() => state.stopLine());
  try {
    // Unreachable Redis (queue or state) fails here, within --connect-timeout, with E060.
    await untilStopped(
      checkRedisReachable(queue, cfg.state, cfg.queue, { connectTimeoutMs: connectMs, signal }),
      signal,
      0,
    );
    if (cfg.metricsPort !== undefined && !options.metrics) {
      // --metrics-host, else SLUICE_METRICS_HOST, else the config file's metricsHost (all in cfg).
      const host = options.metricsHost ?? cfg.metricsHost;
      server = await startMetricsServer(metrics.registry, {
        port: cfg.metricsPort,
        ...(host === undefined ? {} : { host }),
      });
      process.stderr.write(`metrics on ${server.url}\n`);
    }
    // Stopped: objects in flight get a second to finish, then their leases are given back.
    if (once) {
      const summary = await untilStopped(poller.pollOnce(signal), signal, POLL_STOP_GRACE_MS);
      progress.stop();
      if (summary) printJson(summary);
    } else await untilStopped(poller.run({ intervalMs: cfg.interval, signal }), signal, POLL_STOP_GRACE_MS);
  } finally {
    progress.stop();
    await state.releaseHeld();
    await server?.close();
    await poller.close();
    await state.close();
    await queue.close();
  }
}
