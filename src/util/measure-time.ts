export interface Timed<T> {
  result: T;
  /** Wall time in milliseconds. */
  durationMs: number;
}

/** Runs `fn` and returns its result with how long it took (the seed's `@measure_time`). */
export async function measureTime<T>(
  fn: () => T | Promise<T>,
  onDone?: (durationMs: number) => void,
): Promise<Timed<T>> {
  const start = performance.now();
  const result = await fn();
  const durationMs = performance.now() - start;
  onDone?.(durationMs);
  return { result, durationMs };
}
