export { createHttpMetrics, type HttpMetrics } from './http.ts';
export {
  createPollerMetrics,
  createRegistry,
  createWorkerMetrics,
  type PollerMetrics,
  type WorkerMetrics,
} from './registry.ts';
export { createScheduleMetrics, type ScheduleMetrics } from './schedule.ts';
export { type MetricsServer, type MetricsServerOptions, startMetricsServer } from './server.ts';
