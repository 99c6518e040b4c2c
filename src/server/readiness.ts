/**
 * Readiness: every dependency the server uses — storage roots, queue backends (SQLite files,
 * Redis), the time-series root — checked with a bound on time, reported as JSON, and `ready` only
 * when all answer. Results are kept for a second and concurrent probes share one round, so a
 * probe storm never turns into a connection storm against Redis or S3.
 */
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { probeRedis } from '../backends/redis.ts';
import type { HttpMetrics } from '../metrics/http.ts';
import { openQueue, parseQueueUrl } from '../queue/open.ts';
import { maskSecretsInString } from '../secrets/mask.ts';
import { type OpenStorageOptions, openStorage, parseStorageUrl } from '../storage/open.ts';

export interface Dependency {
  /** What it is to the server: `timeseries root`, `lake`, `queue sluice`. */
  name: string;
  kind: 'storage' | 'redis' | 'sqlite';
  /** Where it is, secrets masked. */
  target: string;
  /** Resolves (with a short detail) when the dependency answers; throws when it does not. */
  check(): Promise<string | undefined>;
}

export interface DependencyState {
  name: string;
  kind: Dependency['kind'];
  target: string;
  state: 'up' | 'down';
  latencyMs: number;
  detail?: string;
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checkedAt: string;
  dependencies: DependencyState[];
}

export interface ReadinessOptions {
  /** Longest a check may take before it counts as down. @default 2000 */
  timeoutMs?: number;
  /** How long a report is reused. @default 1000 */
  cacheMs?: number;
  metrics?: HttpMetrics;
}

const errorText = (error: unknown) =>
  maskSecretsInString(error instanceof Error ? error.message : String(error));

export class Readiness {
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private last: { at: number; report: Promise<ReadinessReport> } | undefined;
  private readonly dependencies: readonly Dependency[];
  private readonly options: ReadinessOptions;

  constructor(dependencies: readonly Dependency[], options: ReadinessOptions = {}) {
    this.dependencies = dependencies;
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.cacheMs = options.cacheMs ?? 1000;
  }

  report(): Promise<ReadinessReport> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last.report;
    const report = this.checkAll();
    this.last = { at: Date.now(), report };
    return report;
  }

  private async checkAll(): Promise<ReadinessReport> {
    const dependencies = await Promise.all(this.dependencies.map((d) => this.checkOne(d)));
    for (const d of dependencies)
      this.options.metrics?.dependencyUp.set({ dependency: d.name }, d.state === 'up' ? 1 : 0);
    return {
      ready: dependencies.every((d) => d.state === 'up'),
      checkedAt: new Date().toISOString(),
      dependencies,
    };
  }

  private async checkOne(d: Dependency): Promise<DependencyState> {
    const started = performance.now();
    const base = { name: d.name, kind: d.kind, target: d.target };
    let timer: NodeJS.Timeout | undefined;
    try {
      const detail = await Promise.race([
        d.check(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.timeoutMs} ms`)),
            this.timeoutMs,
          );
        }),
      ]);
      const latencyMs = Math.round(performance.now() - started);
      return { ...base, state: 'up', latencyMs, ...(detail ? { detail } : {}) };
    } catch (error) {
      return {
        ...base,
        state: 'down',
        latencyMs: Math.round(performance.now() - started),
        error: errorText(error),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A storage root answers: a local folder exists (or its nearest existing parent does) and is
 * writable; an S3 prefix answers a HEAD.
 */
export function storageDependency(name: string, url: string, options: OpenStorageOptions = {}): Dependency {
  const parsed = parseStorageUrl(url);
  return {
    name,
    kind: 'storage',
    target: maskSecretsInString(url),
    async check() {
      if (parsed.kind === 'fs') {
        let dir = parsed.root;
        for (;;) {
          const stat = await fsp.stat(dir).catch(() => undefined);
          if (stat) {
            if (!stat.isDirectory()) throw new Error(`${dir} is not a folder`);
            await fsp.access(dir, constants.W_OK);
            return dir === parsed.root ? undefined : `${parsed.root} not created yet; ${dir} is writable`;
          }
          const parent = path.dirname(dir);
          if (parent === dir) throw new Error(`no folder of ${parsed.root} exists`);
          dir = parent;
        }
      }
      const storage = openStorage(url, options);
      try {
        await storage.exists('sluice-readiness-probe');
        return undefined;
      } finally {
        await storage.close();
      }
    },
  };
}

/** A queue backend answers: Redis accepts a connection, or the SQLite queue file opens and counts. */
export function queueDependency(url: string, queueName: string): Dependency {
  const parsed = parseQueueUrl(url);
  if (parsed.kind === 'redis') {
    return {
      name: `queue ${queueName}`,
      kind: 'redis',
      target: maskSecretsInString(parsed.url),
      async check() {
        await probeRedis(parsed.url, { connectTimeoutMs: 1500, purpose: `Redis for queue ${queueName}` });
        return undefined;
      },
    };
  }
  return {
    name: `queue ${queueName}`,
    kind: 'sqlite',
    target: parsed.path,
    async check() {
      const queue = openQueue(url, { name: queueName, create: false });
      try {
        const counts = await queue.counts();
        return `${counts.waiting + counts.delayed + counts.active} jobs waiting or running, ${counts.dead} dead`;
      } finally {
        await queue.close();
      }
    },
  };
}
