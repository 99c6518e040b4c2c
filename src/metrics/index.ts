export {
  createPollerMetrics,
  createRegistry,
  createWorkerMetrics,
  type PollerMetrics,
  type WorkerMetrics,
} from './registry.ts';
export { type MetricsServer, type MetricsServerOptions, startMetricsServer } from './server.ts';
