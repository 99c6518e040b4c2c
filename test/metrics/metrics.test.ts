import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPollerMetrics } from '../../src/metrics/registry.ts';
import { startMetricsServer } from '../../src/metrics/server.ts';
import { Poller } from '../../src/poller/poller.ts';
import { createSqliteStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { openStorage } from '../../src/storage/open.ts';
import { scratchDirs, seedObjects } from '../poller/fixtures.ts';

const scratch = scratchDirs('metrics');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text exposition format (0.0.4); throws on any bad line. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${metricName})(\\{(.*)\\})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)( -?\\d+)?$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        types.set(meta[2] ?? '', meta[3] ?? '');
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    labelRe.lastIndex = 0;
    while (labelRe.lastIndex < body.length) {
      const l = labelRe.exec(body);
      if (!l) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1] ?? ''] = l[2] ?? '';
    }
    samples.push({ name: m[1] ?? '', labels, value: Number(m[4]) });
  }
  return { samples, types };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

describe('/metrics', () => {
  it('serves Prometheus text whose counters match the poll', async () => {
    const dir = scratch('metrics');
    const watched = path.join(dir, 'in');
    const store = openStorage(watched);
    const seeded = await seedObjects(store, '', 60);
    const db = path.join(dir, 'q.db');
    const queue = createSqliteQueue({ path: db, name: `m-${randomBytes(3).toString('hex')}` });
    const state = createSqliteStateStore(db, watched);
    const metrics = createPollerMetrics();
    const poller = new Poller({ source: watched, queue, state, metrics, minAgeMs: 0 });
    const server = await startMetricsServer(metrics.registry, { port: 0, host: '127.0.0.1' });
    try {
      const summary = await poller.pollOnce();
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const { samples, types } = parseExposition(await res.text());
      expect(types.get('sluice_poller_objects_total')).toBe('counter');
      expect(types.get('sluice_poller_poll_duration_seconds')).toBe('histogram');
      expect(value(samples, 'sluice_poller_objects_total', { outcome: 'archived' })).toBe(60);
      expect(value(samples, 'sluice_poller_objects_total', { outcome: 'failed' })).toBe(seeded.bad.length);
      expect(value(samples, 'sluice_poller_records_total')).toBe(seeded.tags.length);
      expect(value(samples, 'sluice_poller_records_total')).toBe(summary.records);
      expect(value(samples, 'sluice_poller_errors_total', { kind: 'parse' })).toBe(seeded.bad.length);
      expect(value(samples, 'sluice_poller_poll_duration_seconds_count')).toBe(1);
      expect(value(samples, 'sluice_poller_queue_backlog_jobs')).toBeGreaterThanOrEqual(0);
      expect(samples.some((s) => s.name === 'sluice_poller_oldest_pending_seconds')).toBe(true);
      for (const s of samples) expect(s.name).toMatch(/^sluice_poller_[a-z_]+$/);
      expect((await fetch(server.url.replace('/metrics', '/nope'))).status).toBe(404);
    } finally {
      await server.close();
      await poller.close();
      await state.close();
      await queue.close();
    }
  });

  it('rejects a bad port with the value named', async () => {
    await expect(startMetricsServer(createPollerMetrics().registry, { port: 70000 })).rejects.toThrow(
      /70000/,
    );
  });
});

describe('sluice poll --metrics-port (long-running)', () => {
  it('serves /metrics while polling and ends by SIGTERM (exit status 143) after the objects in flight', async () => {
    const { spawn } = await import('node:child_process');
    const { REPO_ROOT } = await import('../poller/fixtures.ts');
    const dir = scratch('metrics-cli');
    const watched = path.join(dir, 'in');
    const seeded = await seedObjects(openStorage(watched), '', 40);
    const child = spawn(
      process.execPath,
      ['src/cli/main.ts', 'poll', '--source', watched, '--queue', `sqlite:${path.join(dir, 'q.db')}`],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          SLUICE_METRICS_PORT: '0',
          SLUICE_POLL_MIN_AGE: '0s',
          SLUICE_POLL_INTERVAL: '200ms',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    // A failing assertion must not leave the process running.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /metrics on (\S+)/.exec(stderr);
        if (m?.[1]) resolve(m[1]);
      });
      child.on('close', () => reject(new Error(`poller exited early: ${stderr}`)));
    });
    let archived = 0;
    for (let i = 0; i < 100 && archived < 40; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const { samples } = parseExposition(await (await fetch(url)).text());
      archived = value(samples, 'sluice_poller_objects_total', { outcome: 'archived' });
      if (archived === 40) {
        expect(value(samples, 'sluice_poller_records_total')).toBe(seeded.tags.length);
        expect(value(samples, 'sluice_poller_queue_backlog_jobs')).toBeGreaterThan(0);
      }
    }
    expect(archived).toBe(40);
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    expect([code, signal]).toEqual([null, 'SIGTERM']);
  }, 60_000);
});
