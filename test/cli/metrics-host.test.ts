/**
 * The /metrics server of `poll` and `worker` binds loopback unless --metrics-host (or
 * SLUICE_METRICS_HOST) says otherwise, and prints the address it really bound: the real port
 * when asked for 0, the real host.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostFlag } from '../../src/cli/flags.ts';
import { createWorkerMetrics } from '../../src/metrics/registry.ts';
import { startMetricsServer } from '../../src/metrics/server.ts';
import { resolvePollerConfig } from '../../src/poller/config.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startSluice, waitFor } from './stop-helpers.ts';

const dir = tempDir('metrics-host');
const workerArgs = (name: string) => [
  'worker',
  '--queue',
  `sqlite:${path.join(dir, `${name}.db`)}`,
  '--handler',
  'noop',
  '--metrics-port',
  '0',
];

describe('startMetricsServer', () => {
  it('binds 127.0.0.1 by default; port, host and url are the bound ones', async () => {
    const server = await startMetricsServer(createWorkerMetrics().registry, { port: 0 });
    try {
      expect(server.host).toBe('127.0.0.1');
      expect(server.port).toBeGreaterThan(0);
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
      expect((await fetch(server.url)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('binds every interface only when asked, and says so in its url', async () => {
    const server = await startMetricsServer(createWorkerMetrics().registry, { port: 0, host: '0.0.0.0' });
    try {
      expect(server.url).toBe(`http://0.0.0.0:${server.port}/metrics`);
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('a port in use is E001 naming host, port and what to do', async () => {
    const first = await startMetricsServer(createWorkerMetrics().registry, { port: 0 });
    try {
      await expect(startMetricsServer(createWorkerMetrics().registry, { port: first.port })).rejects.toThrow(
        `Cannot serve metrics on 127.0.0.1:${first.port} (EADDRINUSE): the port is in use; pick another, or 0 for any free one`,
      );
    } finally {
      await first.close();
    }
  });
});

describe('hostFlag', () => {
  it('takes names and addresses, refuses empty and odd values with the flag named', () => {
    const host = hostFlag('--metrics-host');
    for (const ok of ['127.0.0.1', '0.0.0.0', 'localhost', 'metrics.internal', '::', '::1'])
      expect(host(ok)).toBe(ok);
    expect(host('[::1]')).toBe('::1');
    for (const bad of ['', ' ', 'a b', 'http://h', 'h:9464/x'])
      expect(() => host(bad)).toThrow(/^--metrics-host must be a host name or IP address/);
  });
});

describe('sluice worker|poll --metrics-port', { timeout: 60_000 }, () => {
  async function printedUrl(run: ReturnType<typeof startSluice>): Promise<string> {
    const m = await waitFor('the metrics line', () => /^metrics on (\S+)$/m.exec(run.stderr()), {
      child: run,
    });
    return m[1] as string;
  }

  it('worker: loopback by default, the printed url is the real one and answers', async () => {
    const run = startSluice(workerArgs('default'));
    const url = await printedUrl(run);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(url).not.toContain(':0/');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('sluice_worker_jobs_total');
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
  });

  it('poll --metrics-host 0.0.0.0: every interface, printed as bound', async () => {
    const source = path.join(dir, 'in');
    mkdirSync(source);
    const run = startSluice([
      'poll',
      '--source',
      source,
      '--queue',
      `sqlite:${path.join(dir, 'poll.db')}`,
      '--metrics-port',
      '0',
      '--metrics-host',
      '0.0.0.0',
    ]);
    const url = await printedUrl(run);
    const port = /^http:\/\/0\.0\.0\.0:(\d+)\/metrics$/.exec(url)?.[1];
    expect(port, url).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    await run.stop('SIGINT');
  });

  it('SLUICE_METRICS_HOST is read; an address not of this host is E001, a bad flag E022', async () => {
    const env = await runSluice(workerArgs('env'), { env: { SLUICE_METRICS_HOST: '192.0.2.1' } });
    expect(env.code).toBe(1);
    expect(env.stderr).toMatch(
      /^E001: Cannot serve metrics on 192\.0\.2\.1:0 \(EADDRNOTAVAIL\): that address is not one of this host/,
    );
    const flag = await runSluice([...workerArgs('flag'), '--metrics-host', '']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^E022: --metrics-host must be a host name or IP address/);
  });
});

describe('poller config: metricsHost', { timeout: 60_000 }, () => {
  it('a config file may name the host; env overrides the file, the flag overrides both; a bad value is a config error naming the setting', () => {
    const file = path.join(dir, 'poller-host.yaml');
    writeFileSync(file, 'poller:\n  source: ./in\n  metricsPort: 0\n  metricsHost: "[::1]"\n');
    expect(resolvePollerConfig({ file, env: {} }).metricsHost).toBe('::1');
    expect(resolvePollerConfig({ file, env: { SLUICE_METRICS_HOST: '0.0.0.0' } }).metricsHost).toBe(
      '0.0.0.0',
    );
    expect(
      resolvePollerConfig({
        file,
        env: { SLUICE_METRICS_HOST: '0.0.0.0' },
        flags: { metricsHost: 'localhost' },
      }).metricsHost,
    ).toBe('localhost');
    expect(resolvePollerConfig({ flags: { source: './in' }, env: {} }).metricsHost).toBeUndefined();
    writeFileSync(file, 'source: ./in\nmetricsHost: "http://h:9464"\n');
    expect(() => resolvePollerConfig({ file, env: {} })).toThrow(
      'Poller setting metricsHost = "http://h:9464": must be a host name or IP address',
    );
  });

  it("sluice poll --config binds the file's metricsHost and prints it", async () => {
    const source = path.join(dir, 'in-config');
    mkdirSync(source);
    const file = path.join(dir, 'poller-bind.yaml');
    writeFileSync(
      file,
      `source: ${source}\nqueue: sqlite:${path.join(dir, 'poll-config.db')}\nmetricsPort: 0\nmetricsHost: 0.0.0.0\n`,
    );
    const run = startSluice(['poll', '--config', file]);
    const m = await waitFor('the metrics line', () => /^metrics on (\S+)$/m.exec(run.stderr()), {
      child: run,
    });
    expect(m[1]).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
    await run.stop('SIGINT');
  });
});
