import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.ts';
import type { JobHandler } from '../queue/types.ts';
import { createIngestAndScoreHandler, type SignalStore } from './ingest-and-score.ts';

export {
  createIngestAndScoreHandler,
  parseSignalPayload,
  type SignalPayload,
  SignalPayloadSchema,
  type SignalStore,
} from './ingest-and-score.ts';

export { type WorkerRuns, type WorkerRunsOptions, withRunEvents } from './worker-runs.ts';

export interface HandlerContext {
  /** Opens the time-series store for handlers that need one (called at most once). */
  openStore?: () => Promise<SignalStore>;
}

export const BUILTIN_HANDLERS = ['ingest_and_score_signal', 'noop', 'log'] as const;

/** A built-in name, or a module path whose default export is `async (job) => void`. */
export async function resolveHandler(spec: string, context: HandlerContext = {}): Promise<JobHandler> {
  if (spec === 'noop') return async () => {};
  if (spec === 'log') {
    return async (job) => {
      process.stdout.write(`${JSON.stringify(job)}\n`);
    };
  }
  if (spec === 'ingest_and_score_signal') {
    if (!context.openStore) {
      throw new UsageError(
        'Handler ingest_and_score_signal needs a time-series store: pass --store PATH|URL',
      );
    }
    return createIngestAndScoreHandler(await context.openStore());
  }
  if (!/^[./]|\.[cm]?[jt]s$/.test(spec)) {
    throw new UsageError(
      `Unknown handler ${JSON.stringify(spec)}: use one of ${BUILTIN_HANDLERS.join(', ')} or a module path (./handler.js)`,
    );
  }
  const mod = (await import(pathToFileURL(path.resolve(spec)).href)) as { default?: unknown };
  if (typeof mod.default !== 'function') {
    throw new UsageError(`Handler module ${spec} must default-export an async function (job) => void`);
  }
  return mod.default as JobHandler;
}
