/** Parsing of flag values shared by commands; a bad value is a UsageError (exit code 2). */
import { UsageError } from '../errors.ts';
import { parseDuration } from '../util/format-bytes.ts';

/** A duration flag such as 30s, 500ms, 24h or 7d, in ms. */
export function durationFlag(name: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
}
