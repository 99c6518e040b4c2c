import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from './registry.ts';

/** Metrics of `sluice serve`'s HTTP API: requests, their durations, points ingested, dependencies. */
export interface HttpMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  inFlight: Gauge;
  points: Counter<'store' | 'protocol'>;
  dependencyUp: Gauge<'dependency'>;
  openStores: Gauge;
}

/**
 * `sluice_http_*` and `sluice_server_*` metrics, registered on `registry`. Routes are labelled by
 * their pattern (`/api/ts/:store/query`), never by the path asked for, so label values stay few.
 */
export function createHttpMetrics(registry: Registry = createRegistry()): HttpMetrics {
  return {
    registry,
    requests: new Counter({
      name: 'sluice_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'sluice_http_requests_in_flight',
      help: 'Requests being handled now',
      registers: [registry],
    }),
    points: new Counter({
      name: 'sluice_http_ingest_points_total',
      help: 'Points stored durably through the HTTP API, by store and protocol (influx_v1, influx_v2, json)',
      labelNames: ['store', 'protocol'],
      registers: [registry],
    }),
    dependencyUp: new Gauge({
      name: 'sluice_server_dependency_up',
      help: 'Whether a dependency answered the last readiness check (1) or not (0)',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    openStores: new Gauge({
      name: 'sluice_server_open_stores',
      help: 'Time-series stores the server holds open',
      registers: [registry],
    }),
  };
}
