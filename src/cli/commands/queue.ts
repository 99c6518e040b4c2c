import { type Command, Option } from 'commander';
import { UsageError } from '../../errors.ts';
import type { ClosableSignalStore } from '../../jobs/signal-store.ts';
import type { MetricsServer } from '../../metrics/server.ts';
import type { JobQueue } from '../../queue/types.ts';
import { LOG_SENSITIVE_PARAMS, maskSensitiveData } from '../../secrets/mask.ts';
import { assertLocalRootExists } from '../../storage/local-root.ts';
import { openStorage, parseStorageUrl } from '../../storage/open.ts';
import { durationFlag, intFlag, portFlag, sizeFlag } from '../flags.ts';
import { printJson, printTable } from '../output.ts';
import { commandSignal, describeInterruption } from '../signals.ts';
import {
  CONNECT_TIMEOUT_HELP,
  checkRedisReachable,
  connectTimeoutMs,
  DEFAULT_CONNECT_TIMEOUT,
  POLL_STOP_GRACE_MS,
  parkAfterStop,
  trackJobs,
  trackLeases,
  untilStopped,
  WORKER_STOP_GRACE_MS,
} from './queue-stop.ts';

function queueUrl(flag: string | undefined): string {
  const url = flag ?? process.env.SLUICE_QUEUE_URL;
  if (!url)
    throw new UsageError(
      'No queue: pass --queue sqlite:./sluice-queue.db|redis://host:6379/0 or set SLUICE_QUEUE_URL',
    );
  return url;
}

/** Poll flags as commander parsed them: durations in ms, sizes in bytes, counts and ports as numbers. */
interface PollFlags {
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

async function pollCommand(flags: PollFlags): Promise<void> {
  const {
    resolvePollerConfig,
    openQueue,
    openPollerState,
    sourceScope,
    createPollerMetrics,
    Poller,
    startMetricsServer,
  } = await import('./queue-runtime.ts');
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
  // A local source folder that does not exist is a typo, not an empty inbox: E011 before any
  // queue or state database is created for it.
  if (parseStorageUrl(cfg.source).kind === 'fs')
    await assertLocalRootExists(openStorage(cfg.source), 'source folder');
  const signal = commandSignal();
  const queue = openQueue(cfg.queue, { name: cfg.queueName, connectTimeoutMs: connectMs });
  const state = trackLeases(
    openPollerState(cfg.state, cfg.queue, sourceScope(cfg.source), { connectTimeoutMs: connectMs }),
    signal,
  );
  const metrics = createPollerMetrics();
  let server: MetricsServer | undefined;
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
  });
  describeInterruption(() => state.stopLine());
  try {
    // Unreachable Redis (queue or state) fails here, within --connect-timeout, with E060.
    await untilStopped(
      checkRedisReachable(queue, cfg.state, cfg.queue, { connectTimeoutMs: connectMs, signal }),
      signal,
      0,
    );
    if (cfg.metricsPort !== undefined) {
      server = await startMetricsServer(metrics.registry, { port: cfg.metricsPort });
      process.stderr.write(`metrics on ${server.url}\n`);
    }
    // Stopped: objects in flight get a second to finish, then their leases are given back.
    if (once) {
      const summary = await untilStopped(poller.pollOnce(signal), signal, POLL_STOP_GRACE_MS);
      if (summary) printJson(summary);
    } else await untilStopped(poller.run({ intervalMs: cfg.interval, signal }), signal, POLL_STOP_GRACE_MS);
  } finally {
    await state.releaseHeld();
    await server?.close();
    await poller.close();
    await state.close();
    await queue.close();
  }
}

export function registerQueueCommands(program: Command): void {
  program
    .command('poll')
    .description('Watch a storage location and turn every record of every new object into a job')
    .option(
      '--source <url>',
      's3://bucket/prefix/ or a local directory (env SLUICE_POLL_SOURCE, PULSE_S3_BUCKET)',
    )
    .option('--queue <url>', 'sqlite:./sluice-queue.db or redis://host:6379/0 (env SLUICE_QUEUE_URL)')
    .option('--queue-name <name>', 'queue name (default sluice)')
    .option('--state <url>', 'poller state: sqlite:FILE or redis://… (default: the queue’s own store)')
    .option('--once', 'poll once, print a summary and exit')
    .option(
      '--interval <duration>',
      'time between polls (default 60s; env PULSE_S3_POLL_INTERVAL)',
      durationFlag('--interval', { positive: true }),
    )
    .option('--processed-prefix <prefix>', 'archive prefix or URL (default processed/)')
    .option('--failed-prefix <prefix>', 'prefix or URL for objects that fail to parse (default failed/)')
    .option('--min-age <duration>', 'skip objects younger than this (default 5s)', durationFlag('--min-age'))
    .option(
      '--concurrency <n>',
      'objects processed at once (default 32)',
      intFlag('--concurrency', { min: 1 }),
    )
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port', portFlag('--metrics-port'))
    .option('--job-name <name>', 'job name (default ingest_and_score_signal)')
    .option('--json-array <mode>', 'JSON arrays: document (one job) or records (one per element)')
    .option(
      '--max-backlog <n>',
      'stop taking objects while the queue backlog is above this (default 100000)',
      intFlag('--max-backlog', { min: 1 }),
    )
    .option(
      '--max-object-size <size>',
      'objects above this go to failed/ unread (default 1GiB; KB = KiB)',
      sizeFlag('--max-object-size'),
    )
    .option(
      '--max-record-size <size>',
      'largest JSON document, JSONL line or CSV row; larger objects go to failed/ (default 64MiB)',
      sizeFlag('--max-record-size'),
    )
    .option(
      '--transient-attempts <n>',
      'tries per object in one poll on a transient fault; then deferred to the next poll (default 3)',
      intFlag('--transient-attempts', { min: 1 }),
    )
    .option(
      '--retry-delay <duration>',
      'first retry delay after a transient fault, doubled per retry, with jitter (default 500ms)',
      durationFlag('--retry-delay'),
    )
    .option(
      '--read-idle-timeout <duration>',
      'a read with no bytes for this long is a stalled (transient) fault (default 60s)',
      durationFlag('--read-idle-timeout', { positive: true }),
    )
    .option('--config <file>', 'YAML/JSON settings file (keys as the flags, camelCase)')
    .option('--connect-timeout <duration>', `${CONNECT_TIMEOUT_HELP} (default ${DEFAULT_CONNECT_TIMEOUT})`)
    .action(pollCommand);

  program
    .command('worker')
    .description('Run a handler over the jobs of a queue')
    .option('--queue <url>', 'queue URL (env SLUICE_QUEUE_URL)')
    .option('--queue-name <name>', 'queue name', 'sluice')
    .option(
      '--handler <name|module>',
      'ingest_and_score_signal, noop, log, or ./module.js',
      'ingest_and_score_signal',
    )
    .option('--store <pathOrUrl>', 'time-series store for ingest_and_score_signal')
    .option('--concurrency <n>', 'jobs at once', intFlag('--concurrency', { min: 1 }), 1)
    .option('--attempts <n>', 'tries per job before dead-lettering', intFlag('--attempts', { min: 1 }), 5)
    .option('--backoff <ms>', 'first retry delay in ms (doubles each attempt)', intFlag('--backoff'), 1000)
    .option('--drain', 'exit 0 once the queue is empty')
    .addOption(
      new Option('--lease <duration>', 'sqlite: visibility timeout before a crashed worker’s job runs again')
        .argParser(durationFlag('--lease', { positive: true }))
        .default(30_000, '30s'),
    )
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port', portFlag('--metrics-port'))
    .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, DEFAULT_CONNECT_TIMEOUT)
    .action(
      async (opts: {
        queue?: string;
        queueName: string;
        handler: string;
        store?: string;
        concurrency: number;
        attempts: number;
        backoff: number;
        drain?: boolean;
        lease: number;
        metricsPort?: number;
        connectTimeout: string;
      }) => {
        const {
          resolveHandler,
          openSignalStore,
          openQueue,
          createWorkerMetrics,
          startMetricsServer,
          runWorker,
          getLogger,
        } = await import('./queue-runtime.ts');
        const url = queueUrl(opts.queue);
        let store: ClosableSignalStore | undefined;
        const storeSpec = opts.store ?? process.env.SLUICE_TIMESERIES_STORE;
        const handler = await resolveHandler(opts.handler, {
          ...(storeSpec
            ? {
                openStore: async () => {
                  store = await openSignalStore(storeSpec);
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
        const metrics = createWorkerMetrics();
        let server: MetricsServer | undefined;
        // Stopped: jobs in flight get a second to finish, then go back to the queue (bullmq) or
        // to their lease (sqlite); the line on stderr says which.
        const jobs = trackJobs(handler);
        const signal = commandSignal();
        describeInterruption(() => jobs.stopLine(queue, leaseMs));
        try {
          if (opts.metricsPort !== undefined) {
            server = await startMetricsServer(metrics.registry, { port: opts.metricsPort });
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
          // undefined: jobs still running after the grace (sqlite), left to their lease.
          if (summary) {
            getLogger().info(summary, 'worker stopped');
            printJson(summary);
          }
        } finally {
          await server?.close();
          await queue.close();
          await store?.close();
        }
      },
    );

  const q = program.command('queue').description('Inspect and repair a job queue');
  const withQueue = async (
    opts: { queue?: string; queueName: string; connectTimeout?: string },
    fn: (queue: JobQueue) => Promise<void>,
  ) => {
    const { openQueue } = await import('./queue-runtime.ts');
    // Inspecting or repairing a queue never creates one: a mistyped path is E011.
    const queue = openQueue(queueUrl(opts.queue), {
      name: opts.queueName,
      create: false,
      connectTimeoutMs: connectTimeoutMs(opts.connectTimeout),
    });
    try {
      await fn(queue);
    } finally {
      await queue.close();
    }
  };
  const common = (cmd: Command) =>
    cmd
      .option('--queue <url>', 'queue URL (env SLUICE_QUEUE_URL)')
      .option('--queue-name <name>', 'queue name', 'sluice')
      .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, DEFAULT_CONNECT_TIMEOUT);

  common(q.command('stats').description('Counts per state'))
    .option('--json', 'one JSON object')
    .action(async (opts: { queue?: string; queueName: string; json?: boolean }) =>
      withQueue(opts, async (queue) => {
        const counts = await queue.counts();
        if (opts.json) process.stdout.write(`${JSON.stringify(counts)}\n`);
        else printTable(Object.entries(counts).map(([state, jobs]) => ({ state, jobs })));
      }),
    );
  common(q.command('dead').description('List dead-lettered jobs'))
    .option('--limit <n>', 'at most this many', intFlag('--limit', { min: 1 }), 100)
    .option('--json', 'JSON array')
    .action(async (opts: { queue?: string; queueName: string; limit: number; json?: boolean }) =>
      withQueue(opts, async (queue) => {
        const dead = await queue.listDead(opts.limit);
        // Shown masked like every error sluice prints; the stored job keeps its payload for `retry`.
        if (opts.json) printJson(maskSensitiveData(dead, LOG_SENSITIVE_PARAMS));
        else printTable(dead.map((d) => ({ id: d.id, name: d.name, attempts: d.attempts, error: d.error })));
      }),
    );
  common(q.command('retry').description('Move dead-lettered jobs (all, or the ids given) back to waiting'))
    .argument('[ids...]', 'job ids (default: all dead jobs)')
    .action(async (ids: string[], opts: { queue?: string; queueName: string }) =>
      withQueue(opts, async (queue) => {
        const n = await queue.retryDead(ids.length > 0 ? ids : undefined);
        process.stdout.write(`retried ${n} jobs\n`);
      }),
    );
  common(
    q
      .command('prune')
      .description('Delete completed jobs older than --older-than (their ids can then be enqueued again)'),
  )
    .requiredOption(
      '--older-than <duration>',
      'retention, e.g. 7d or 12h (the deduplication window)',
      durationFlag('--older-than'),
    )
    .action(async (opts: { queue?: string; queueName: string; olderThan: number }) => {
      await withQueue(opts, async (queue) => {
        const n = await queue.pruneCompleted(opts.olderThan);
        process.stdout.write(`pruned ${n} completed jobs\n`);
      });
    });
  common(q.command('purge').description('Delete dead-lettered jobs')).action(
    async (opts: { queue?: string; queueName: string }) =>
      withQueue(opts, async (queue) => {
        const n = await queue.purgeDead();
        process.stdout.write(`purged ${n} dead jobs\n`);
      }),
  );
}
