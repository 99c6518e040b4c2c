/**
 * The one way the CLI defers a module: `const store = lazy(() => import(…))` beside the
 * commands, then `const { X } = await store()` inside an action. Building the command tree (and
 * so `sluice --help`) loads no backend — no DuckDB, AWS SDK, BullMQ, ioredis, zod, YAML or CSV
 * parser — and each command pays only for what it runs.
 */

/** `load`, called on first use; later calls share the first call's promise. */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}
