/** Checks a `pruneCompleted` retention: a finite number of milliseconds ≥ 0. */
import { ValidationError } from '../errors.ts';

export function checkRetention(olderThanMs: number): number {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new ValidationError(
      `pruneCompleted: olderThanMs must be a duration ≥ 0 ms, got ${String(olderThanMs)}`,
      {
        context: { olderThanMs },
      },
    );
  }
  return olderThanMs;
}
