import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A fresh registry (not prom-client's global one, so several pollers/tests never collide). */
export function createRegistry(): Registry {
  return new Registry();
}

export interface PollerMetrics {
  registry: Registry;
  objects: Counter<'outcome'>;
  records: Counter;
  errors: Counter<'kind'>;
  retries: Counter<'stage'>;
  pollDuration: Histogram;
  oldestPending: Gauge;
  backlog: Gauge;
}

/** `sluice_poller_*` metrics, registered on `registry`. */
export function createPollerMetrics(registry: Registry = createRegistry()): PollerMetrics {
  return {
    registry,
    objects: new Counter({
      name: 'sluice_poller_objects_total',
      help: 'Objects handled, by outcome (archived; replaced: a newer version was uploaded while it was handled, so it stays for the next poll; failed; deferred after transient failures; claimed_elsewhere)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    records: new Counter({
      name: 'sluice_poller_records_total',
      help: 'Records parsed and enqueued as jobs',
      registers: [registry],
    }),
    errors: new Counter({
      name: 'sluice_poller_errors_total',
      help: 'Errors, by kind (parse, list, read, enqueue, archive, state, queue, lineage)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'sluice_poller_retries_total',
      help: 'Retries after a transient failure (reset, truncated body, timeout, 5xx, throttling, busy backend), by stage',
      labelNames: ['stage'],
      registers: [registry],
    }),
    pollDuration: new Histogram({
      name: 'sluice_poller_poll_duration_seconds',
      help: 'Duration of one poll cycle (listing and processing)',
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    oldestPending: new Gauge({
      name: 'sluice_poller_oldest_pending_seconds',
      help: 'Age of the oldest object seen but not yet processed at the last poll',
      registers: [registry],
    }),
    backlog: new Gauge({
      name: 'sluice_poller_queue_backlog_jobs',
      help: 'Jobs waiting, delayed or active in the queue at the last check',
      registers: [registry],
    }),
  };
}

export interface WorkerMetrics {
  registry: Registry;
  jobs: Counter<'outcome'>;
  duration: Histogram;
}

/** `sluice_worker_*` metrics. */
export function createWorkerMetrics(registry: Registry = createRegistry()): WorkerMetrics {
  return {
    registry,
    jobs: new Counter({
      name: 'sluice_worker_jobs_total',
      help: 'Jobs run, by outcome (completed; retry: failed, attempt counted; wait: held up by a full disk, the network or Redis, runs again with no attempt used; dead)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_worker_job_duration_seconds',
      help: 'Handler run time per job',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
}
