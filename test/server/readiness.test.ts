import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createPollerMetrics, createRegistry, createWorkerMetrics } from '../../src/metrics/registry.ts';
import { freePort, startRedisServer } from '../helpers/redis-server.ts';
import { auth, testServer } from './helpers.ts';

interface Ready {
  status: string;
  dependencies: { name: string; kind: string; state: string; error?: string }[];
}

async function readyz(app: ReturnType<typeof testServer>['app']): Promise<{ status: number; body: Ready }> {
  const res = await app.request('/readyz');
  return { status: res.status, body: (await res.json()) as Ready };
}

/** Reports are reused for a second: wait past it. */
const nextReport = () => new Promise((r) => setTimeout(r, 1100));

describe('/readyz with Redis', () => {
  it('is ready while Redis answers, 503 naming Redis once it is stopped, ready again when it is back', async () => {
    const redis = await startRedisServer();
    const server = testServer({ queues: [{ url: `${redis.url}?prefix=readyz-test`, name: 'jobs' }] });
    try {
      let r = await readyz(server.app);
      expect(r.status).toBe(200);
      expect(r.body.dependencies.find((d) => d.kind === 'redis')).toMatchObject({
        name: 'queue jobs',
        state: 'up',
      });
      await redis.stop();
      await nextReport();
      r = await readyz(server.app);
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('not ready');
      const down = r.body.dependencies.find((d) => d.kind === 'redis');
      expect(down?.state).toBe('down');
      expect(down?.error).toMatch(/Cannot reach Redis for queue jobs at redis:\/\/127\.0\.0\.1:\d+/);
      // The time-series root is still up: only Redis is named down.
      expect(r.body.dependencies.filter((d) => d.state === 'down')).toHaveLength(1);
      const back = await startRedisServer({ port: redis.port });
      try {
        await nextReport();
        expect((await readyz(server.app)).status).toBe(200);
      } finally {
        await back.stop();
      }
      const metrics = await (await server.app.request('/metrics')).text();
      expect(metrics).toMatch(/sluice_server_dependency_up\{dependency="queue jobs"\} 1/);
    } finally {
      await server.close();
      await redis.stop();
    }
  });

  it('is 503 from the start when Redis is on a closed port, masking a password in the URL', async () => {
    const port = await freePort();
    const server = testServer({ queues: [{ url: `redis://:hunter2secret@127.0.0.1:${port}/0`, name: 'q' }] });
    try {
      const res = await server.app.request('/readyz');
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(text).not.toContain('hunter2secret');
      expect(JSON.parse(text).dependencies[1]).toMatchObject({ kind: 'redis', state: 'down' });
    } finally {
      await server.close();
    }
  });

  it('answers 503 "stopping" once shutdown has begun', async () => {
    const server = testServer();
    server.context.lifecycle.stopping = true;
    const r = await readyz(server.app);
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('stopping');
    await server.close();
  });
});

describe('/metrics', () => {
  const registry = createRegistry();
  const poller = createPollerMetrics(registry);
  const worker = createWorkerMetrics(registry);
  const server = testServer({ registry });
  afterAll(() => server.close());

  it('holds every sluice_* metric of the process and passes promtool check metrics with no warning', async () => {
    poller.objects.inc({ outcome: 'archived' });
    poller.pollDuration.observe(0.2);
    worker.jobs.inc({ outcome: 'completed' });
    worker.duration.observe(0.01);
    await server.app.request('/api/v2/write?bucket=m&precision=s', {
      method: 'POST',
      body: 'm v=1 1',
      headers: auth('write'),
    });
    await server.app.request('/api/v2/write?bucket=m', {
      method: 'POST',
      body: 'bad',
      headers: auth('write'),
    });
    await server.app.request('/readyz');
    const text = await (await server.app.request('/metrics')).text();
    for (const name of [
      'sluice_http_requests_total',
      'sluice_http_request_duration_seconds',
      'sluice_http_requests_in_flight',
      'sluice_http_ingest_points_total',
      'sluice_server_dependency_up',
      'sluice_server_open_stores',
      'sluice_poller_objects_total',
      'sluice_poller_records_total',
      'sluice_poller_errors_total',
      'sluice_poller_retries_total',
      'sluice_poller_poll_duration_seconds',
      'sluice_poller_oldest_pending_seconds',
      'sluice_poller_queue_backlog_jobs',
      'sluice_worker_jobs_total',
      'sluice_worker_job_duration_seconds',
    ])
      expect(text, name).toContain(`# TYPE ${name} `);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(promtool.error, 'promtool is not installed (apt-get install -y prometheus)').toBeUndefined();
    expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe('');
    expect(promtool.status).toBe(0);
  });
});
