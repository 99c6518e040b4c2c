/**
 * Flags shared by the queue commands: the queue URL, the Redis connect timeout and the metrics
 * server's address. Light (no
 * backend), so commands/queue.ts imports it with the command tree for the help and defaults.
 */
import { UsageError } from '../../errors.ts';
import { durationFlag, hostFlag } from '../flags.ts';

/** `--connect-timeout`: how long a backend (Redis) gets to answer before E060. */
export const CONNECT_TIMEOUT_HELP = 'give up on an unreachable Redis after this (E060)';
export const DEFAULT_CONNECT_TIMEOUT = '10s';

export function connectTimeoutMs(value: string | undefined): number {
  return durationFlag('--connect-timeout', { positive: true })(value ?? DEFAULT_CONNECT_TIMEOUT);
}

export function queueUrl(flag: string | undefined): string {
  const url = flag ?? process.env.SLUICE_QUEUE_URL;
  if (!url)
    throw new UsageError(
      'No queue: pass --queue sqlite:./sluice-queue.db|redis://host:6379/0 or set SLUICE_QUEUE_URL',
    );
  return url;
}

/** `--metrics-host` of poll and worker. */
export const METRICS_HOST_HELP =
  'address /metrics binds: 127.0.0.1 unless given (0.0.0.0 or :: for every interface; env SLUICE_METRICS_HOST)';

/** The flag, else SLUICE_METRICS_HOST, else undefined: the metrics server's loopback default. */
export function metricsHost(flag: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  const env = process.env.SLUICE_METRICS_HOST;
  return env ? hostFlag('SLUICE_METRICS_HOST')(env) : undefined;
}
