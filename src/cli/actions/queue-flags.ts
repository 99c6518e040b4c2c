/**
 * Flags shared by the queue commands: the queue URL and the Redis connect timeout. Light (no
 * backend), so commands/queue.ts imports it with the command tree for the help and defaults.
 */
import { UsageError } from '../../errors.ts';
import { durationFlag } from '../flags.ts';

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
