/**
 * `sluice poll`, `sluice worker` and `sluice queue stats|dead|retry|prune|purge`: object storage
 * polled into a job queue, the workers that run its jobs, and inspecting and repairing it.
 */
import { type Command, Option } from 'commander';
import type { JobQueue } from '../../queue/types.ts';
import { LOG_SENSITIVE_PARAMS, maskSensitiveData } from '../../secrets/mask.ts';
import {
  CONNECT_TIMEOUT_HELP,
  connectTimeoutMs,
  DEFAULT_CONNECT_TIMEOUT,
  METRICS_HOST_HELP,
  queueUrl,
} from '../actions/queue-flags.ts';
import type { PollFlags } from '../actions/queue-poll.ts';
import type { WorkerOptions } from '../actions/queue-worker.ts';
import { durationFlag, hostFlag, intFlag, portFlag, sizeFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';
import { printJson, printTable } from '../output.ts';

// What the queue commands need at run time, loaded only when one of them runs: BullMQ, ioredis
// and prom-client cost ~150 ms of start-up that every other sluice command should not pay.
const polling = lazy(() => import('../actions/queue-poll.ts'));
const working = lazy(() => import('../actions/queue-worker.ts'));
const queueOpen = lazy(() => import('../../queue/open.ts'));

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
    .option('--metrics-host <host>', METRICS_HOST_HELP, hostFlag('--metrics-host'))
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
    .action(async (flags: PollFlags) => (await polling()).poll(flags));

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
    .option(
      '--store-lease <redis-url>',
      'compaction lease of an S3 store shared by workers on several hosts (default: the queue’s Redis, when it is one; env SLUICE_TS_LEASE)',
    )
    .option('--concurrency <n>', 'jobs at once', intFlag('--concurrency', { min: 1 }), 1)
    .option('--attempts <n>', 'tries per job before dead-lettering', intFlag('--attempts', { min: 1 }), 5)
    .option('--backoff <ms>', 'first retry delay in ms (doubles each attempt)', intFlag('--backoff'), 1000)
    .option('--drain', 'exit 0 once the queue is empty')
    .addOption(
      new Option(
        '--lease <duration>',
        'how long a job stays claimed without renewal: a crashed worker’s jobs run again after it (redis: one to two of it)',
      )
        .argParser(durationFlag('--lease', { positive: true }))
        .default(30_000, '30s'),
    )
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port', portFlag('--metrics-port'))
    .option('--metrics-host <host>', METRICS_HOST_HELP, hostFlag('--metrics-host'))
    .option('--connect-timeout <duration>', CONNECT_TIMEOUT_HELP, DEFAULT_CONNECT_TIMEOUT)
    .action(async (opts: WorkerOptions) => (await working()).worker(opts));

  const q = program.command('queue').description('Inspect and repair a job queue');
  const withQueue = async (
    opts: { queue?: string; queueName: string; connectTimeout?: string },
    fn: (queue: JobQueue) => Promise<void>,
  ) => {
    const { openQueue } = await queueOpen();
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
    .option('--json', 'print {"retried": n}')
    .action(async (ids: string[], opts: { queue?: string; queueName: string; json?: boolean }) =>
      withQueue(opts, async (queue) => {
        const n = await queue.retryDead(ids.length > 0 ? ids : undefined);
        process.stdout.write(opts.json ? `${JSON.stringify({ retried: n })}\n` : `retried ${n} jobs\n`);
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
    .option('--json', 'print {"pruned": n}')
    .action(async (opts: { queue?: string; queueName: string; olderThan: number; json?: boolean }) => {
      await withQueue(opts, async (queue) => {
        const n = await queue.pruneCompleted(opts.olderThan);
        process.stdout.write(
          opts.json ? `${JSON.stringify({ pruned: n })}\n` : `pruned ${n} completed jobs\n`,
        );
      });
    });
  common(q.command('purge').description('Delete dead-lettered jobs'))
    .option('--json', 'print {"purged": n}')
    .action(async (opts: { queue?: string; queueName: string; json?: boolean }) =>
      withQueue(opts, async (queue) => {
        const n = await queue.purgeDead();
        process.stdout.write(opts.json ? `${JSON.stringify({ purged: n })}\n` : `purged ${n} dead jobs\n`);
      }),
    );
}
