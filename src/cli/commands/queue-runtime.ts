// What the queue commands need at run time, loaded only when one of them runs: BullMQ, ioredis
// and prom-client cost ~150 ms of start-up that every other sluice command should not pay.

export { resolveHandler } from '../../jobs/index.ts';
export { openSignalStore } from '../../jobs/signal-store.ts';
export { getLogger } from '../../logging/logger.ts';
export { createPollerMetrics, createWorkerMetrics } from '../../metrics/registry.ts';
export { startMetricsServer } from '../../metrics/server.ts';
export { resolvePollerConfig } from '../../poller/config.ts';
export { openPollerState } from '../../poller/open-state.ts';
export { Poller } from '../../poller/poller.ts';
export { sourceScope } from '../../poller/source.ts';
export { openQueue } from '../../queue/open.ts';
export { runWorker } from '../../queue/worker.ts';
