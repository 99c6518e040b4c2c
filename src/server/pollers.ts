/**
 * The pollers and workers the service runs, for the API: each poller's settings (URLs masked),
 * the process's poller and worker counters (they share one registry, so the totals are over all
 * of them), and the objects a poller moved to its failed location with the error report written
 * beside each (`<key>.error.json`), masked.
 */
import { NotFoundError } from '../errors.ts';
import type { PollerMetrics, WorkerMetrics } from '../metrics/registry.ts';
import type { PollerConfig } from '../poller/config.ts';
import { resolveSource, resolveTarget } from '../poller/source.ts';
import { maskSecretsInString, maskSensitiveData } from '../secrets/mask.ts';
import { HttpProblem } from './http/problem.ts';

export interface PollerSummary {
  id: string;
  source: string;
  queue: string;
  queueName: string;
  intervalMs: number;
  minAgeMs: number;
  processedPrefix: string;
  failedPrefix: string;
  jobName: string;
}

export interface ProcessCounters {
  /** Objects by outcome (archived, failed, deferred, claimed_elsewhere, …). */
  objects: Record<string, number>;
  records: number;
  /** Poller errors by kind. */
  errors: Record<string, number>;
  /** Queue backlog at the last poll (summed over the pollers' queues). */
  backlog: number;
  oldestPendingSeconds: number;
  polls: number;
  /** Worker jobs by outcome (completed, retry, dead). */
  jobs: Record<string, number>;
}

export interface FailedObject {
  /** Key of the failed object, relative to the failed location. */
  key: string;
  code: string | null;
  message: string;
  line: number | null;
  row: number | null;
  failedAt: string | null;
}

const REPORT_SUFFIX = '.error.json';
/** Error reports one answer reads at most. */
const READ_REPORTS = 500;

/** A metric's values by one label (`outcome`, `kind`), or its single value under ''. */
async function byLabel(metric: { get(): Promise<unknown> | unknown }, label?: string) {
  const { values } = (await metric.get()) as {
    values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
  };
  const out: Record<string, number> = {};
  for (const v of values) {
    const name = label ? String(v.labels[label] ?? '') : (v.metricName ?? '');
    out[name] = (out[name] ?? 0) + v.value;
  }
  return out;
}

export class PollerRegistry {
  private readonly configs = new Map<string, PollerConfig>();
  private readonly pollerMetrics: PollerMetrics | undefined;
  private readonly workerMetrics: WorkerMetrics | undefined;

  constructor(options: {
    pollers?: readonly PollerConfig[];
    pollerMetrics?: PollerMetrics;
    workerMetrics?: WorkerMetrics;
  }) {
    (options.pollers ?? []).forEach((cfg, i) => {
      this.configs.set(`poller-${i + 1}`, cfg);
    });
    this.pollerMetrics = options.pollerMetrics;
    this.workerMetrics = options.workerMetrics;
  }

  list(): PollerSummary[] {
    return [...this.configs].map(([id, c]) => ({
      id,
      source: maskSecretsInString(c.source),
      queue: maskSecretsInString(c.queue),
      queueName: c.queueName,
      intervalMs: c.interval,
      minAgeMs: c.minAge,
      processedPrefix: maskSecretsInString(c.processedPrefix),
      failedPrefix: maskSecretsInString(c.failedPrefix),
      jobName: c.jobName,
    }));
  }

  /** The process's poller and worker counters now. */
  async counters(): Promise<ProcessCounters> {
    const p = this.pollerMetrics;
    const w = this.workerMetrics;
    const polls = p ? await byLabel(p.pollDuration) : {};
    return {
      objects: p ? await byLabel(p.objects, 'outcome') : {},
      records: p ? sum(await byLabel(p.records)) : 0,
      errors: p ? await byLabel(p.errors, 'kind') : {},
      backlog: p ? sum(await byLabel(p.backlog)) : 0,
      oldestPendingSeconds: p ? sum(await byLabel(p.oldestPending)) : 0,
      polls: polls.sluice_poller_poll_duration_seconds_count ?? 0,
      jobs: w ? await byLabel(w.jobs, 'outcome') : {},
    };
  }

  /**
   * Objects in the poller's failed location with their reports, newest first, and how many there
   * are. At most READ_REPORTS reports are read per answer (the first listed), so a location holding
   * thousands answers quickly; `total` still counts them all.
   */
  async failed(id: string, limit: number): Promise<{ total: number; objects: FailedObject[] }> {
    const cfg = this.configs.get(id);
    if (!cfg) throw new HttpProblem(404, `no poller ${JSON.stringify(id.slice(0, 80))} in this server`);
    const source = resolveSource(cfg.source);
    const target = resolveTarget(cfg.failedPrefix, source);
    try {
      const reports: string[] = [];
      for await (const e of target.storage.list({ prefix: target.prefix }))
        if (e.type === 'object' && e.key.endsWith(REPORT_SUFFIX)) reports.push(e.key);
      const out: FailedObject[] = [];
      for (const key of reports.slice(0, READ_REPORTS))
        out.push(await readReport(target.storage, key, target.prefix));
      out.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? '') || a.key.localeCompare(b.key));
      return { total: reports.length, objects: out.slice(0, limit) };
    } catch (error) {
      // No failed location yet: nothing failed.
      if (error instanceof NotFoundError) return { total: 0, objects: [] };
      throw error;
    } finally {
      await source.storage.close();
      if (target.storage !== source.storage) await target.storage.close();
    }
  }
}

async function readReport(
  storage: { get(key: string): Promise<Buffer> },
  key: string,
  prefix: string,
): Promise<FailedObject> {
  const object = key.slice(prefix.length, -REPORT_SUFFIX.length);
  try {
    const r = maskSensitiveData(JSON.parse((await storage.get(key)).toString('utf8'))) as Record<
      string,
      unknown
    >;
    const text = (v: unknown) => (typeof v === 'string' ? maskSecretsInString(v) : null);
    const num = (v: unknown) => (typeof v === 'number' ? v : null);
    return {
      key: object,
      code: text(r.code),
      message: text(r.message) ?? '',
      line: num(r.line),
      row: num(r.row),
      failedAt: text(r.failedAt),
    };
  } catch (error) {
    const why = maskSecretsInString((error as Error).message ?? String(error));
    return {
      key: object,
      code: null,
      message: `the error report cannot be read: ${why}`,
      line: null,
      row: null,
      failedAt: null,
    };
  }
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((s, v) => s + v, 0);
}
