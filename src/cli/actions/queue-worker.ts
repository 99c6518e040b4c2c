/** `sluice worker`: run a handler over the jobs of a queue until stopped (or drained). */
import path from 'node:path';
import { resolveHandler, type WorkerRuns, withRunEvents } from '../../jobs/index.ts';
import { type ClosableSignalStore, openSignalStore } from '../../jobs/signal-store.ts';
import { lineageUrl, type OpenLineageTarget } from '../../lineage/index.ts';
import { getLogger } from '../../logging/logger.ts';
import { createWorkerMetrics, type WorkerMetrics } from '../../metrics/registry.ts';
import { type MetricsServer, startMetricsServer } from '../../metrics/server.ts';
import { openQueue } from '../../queue/open.ts';
import { runWorker, type WorkerSummary } from '../../queue/worker.ts';
import { printJson } from '../output.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import { connectTimeoutMs, metricsHost, queueUrl } from './queue-flags.ts';
import { trackJobs, untilStopped, WORKER_STOP_GRACE_MS } from './queue-stop.ts';

export interface WorkerOptions {
  queue?: string;
  queueName: string;
  handler: string;
  store?: string;
  storeLease?: string;
  concurrency: number;
  attempts: number;
  backoff: number;
  drain?: boolean;
  lease: number;
  metricsPort?: number;
  metricsHost?: string;
  connectTimeout: string;
}

/**
 * The compaction lease of the worker's store: the flag, else $SLUICE_TS_LEASE (read by the store),
 * else the queue's own Redis — workers that share a Redis queue share a lease with no setting.
 */
function storeLease(opts: WorkerOptions, queue: string): { lease?: string } {
  if (opts.storeLease) return { lease: opts.storeLease };
  if (process.env.SLUICE_TS_LEASE) return {};
  return /^rediss?:\/\//.test(queue) ? { lease: queue.split('?')[0] as string } : {};
}

/** What `sluice serve` changes when it runs a worker in its own process. */
export interface WorkerHooks {
  /** Count into these metrics (the server's /metrics) instead of the worker's own registry and metrics server. */
  metrics?: WorkerMetrics;
  /** Open the handler's store this way (a store the server already holds open for writing). */
  openStore?: () => Promise<ClosableSignalStore>;
  /** Where the stop line goes. @default describeInterruption */
  describe?: (line: () => string) => void;
  /** What becomes of the summary once stopped. @default printed as JSON on stdout */
  onSummary?: (summary: WorkerSummary) => void;
  /** Stops the worker. @default commandSignal() (SIGINT/SIGTERM) */
  signal?: AbortSignal;
}

/**
 * The config's lineage settings (sluice.config.yaml and env, as the pipeline reads them); a config
 * that does not load is a warning here: the worker's jobs do not depend on it.
 */
async function lineageSettings(): Promise<{ lineage?: boolean; target?: OpenLineageTarget }> {
  try {
    const { Config } = await import('../../config/config.ts');
    const cfg = Config.load();
    return { lineage: cfg.lineage, ...(cfg.openLineage ? { target: cfg.openLineage } : {}) };
  } catch (error) {
    getLogger().warn({ err: String(error) }, 'cannot load the config: lineage settings from it are not used');
    return {};
  }
}

/** One OpenLineage run per batch of jobs, when the config names a collector or a file. */
function runEvents(
  handler: Parameters<typeof withRunEvents>[0],
  target: OpenLineageTarget | undefined,
  opts: WorkerOptions,
  store: string | undefined,
): WorkerRuns | undefined {
  if (!target) return undefined;
  const name = /^[./]/.test(opts.handler) ? path.basename(opts.handler) : opts.handler;
  return withRunEvents(handler, {
    target,
    job: `sluice.worker.${name}`,
    ...(store ? { output: lineageUrl(store) } : {}),
  });
}

export async function worker(opts: WorkerOptions, hooks: WorkerHooks = {}): Promise<void> {
  const url = queueUrl(opts.queue);
  let store: ClosableSignalStore | undefined;
  const storeSpec = opts.store ?? process.env.SLUICE_TIMESERIES_STORE;
  const settings = await lineageSettings();
  const storeOptions = {
    ...storeLease(opts, url),
    ...(settings.lineage === undefined ? {} : { lineage: settings.lineage }),
  };
  const openStore =
    hooks.openStore ?? (storeSpec ? () => openSignalStore(storeSpec, storeOptions) : undefined);
  const handler = await resolveHandler(opts.handler, {
    ...(openStore
      ? {
          openStore: async () => {
            store = await openStore();
            return store;
          },
        }
      : {}),
  });
  const leaseMs = opts.lease;
  const queue = openQueue(url, {
    name: opts.queueName,
    attempts: opts.attempts,
    backoffMs: opts.backoff,
    leaseMs,
    connectTimeoutMs: connectTimeoutMs(opts.connectTimeout),
  });
  const metrics = hooks.metrics ?? createWorkerMetrics();
  let server: MetricsServer | undefined;
  // Stopped: jobs in flight get a second to finish, then go back to the queue (bullmq) or
  // to their lease (sqlite); the line on stderr says which.
  const runs = runEvents(handler, settings.target, opts, storeSpec);
  const jobs = trackJobs(runs?.handler ?? handler);
  const signal = hooks.signal ?? commandSignal();
  (hooks.describe ?? describeInterruption)(() => jobs.stopLine(queue, leaseMs));
  try {
    if (opts.metricsPort !== undefined && !hooks.metrics) {
      const host = metricsHost(opts.metricsHost);
      server = await startMetricsServer(metrics.registry, {
        port: opts.metricsPort,
        ...(host === undefined ? {} : { host }),
      });
      process.stderr.write(`metrics on ${server.url}\n`);
    }
    const summary = await untilStopped(
      runWorker({
        queue,
        handler: jobs.handler,
        concurrency: opts.concurrency,
        drain: opts.drain ?? false,
        signal,
        metrics,
      }),
      signal,
      WORKER_STOP_GRACE_MS,
    );
    // undefined: jobs still running after the grace (sqlite): given back, not left to their lease.
    if (!summary && queue.handBack) {
      try {
        await queue.handBack();
        jobs.handedBack();
      } catch (error) {
        // A locked database: the lease still brings the jobs back, later; the stop line says so.
        getLogger().warn({ err: String(error) }, 'could not hand back the jobs in flight');
      }
    }
    if (summary) {
      getLogger().info(summary, 'worker stopped');
      (hooks.onSummary ?? printJson)(summary);
    }
  } finally {
    await runs?.close();
    await server?.close();
    await queue.close();
    await store?.close();
  }
}
