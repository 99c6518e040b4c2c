/**
 * Scheduled pipeline runs in the service object: per-second cron expressions run a real pipeline
 * on a temp local lake; the run history, /api/schedules and /metrics show them; a tick during a
 * run is skipped; a failed run is recorded and the service goes on; shutdown waits for a run in
 * flight within the grace period, and abandons it (saying so) after.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/pipeline/index.ts';
import { runScheduledPipeline } from '../../src/server/schedules/scheduled-run.ts';
import type { ScheduleStatus } from '../../src/server/schedules/types.ts';
import { auth, captureLog, testSocketServer } from './helpers.ts';
import { gatedRun, tinyProject, until } from './schedule-fixture.ts';

type Served = Awaited<ReturnType<typeof testSocketServer>>;
const servers: Served[] = [];
const gates: (() => void)[] = [];
afterEach(async () => {
  for (const open of gates.splice(0)) open();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function get<T>(s: Served, route: string): Promise<T> {
  const res = await fetch(`${s.url}${route}`, { headers: auth('read') });
  expect(res.status, route).toBe(200);
  return (await res.json()) as T;
}

const runsOf = async (s: Served, env = 'dev') =>
  (await get<{ runs: RunRecord[] }>(s, `/api/runs?env=${env}&limit=100`)).runs;
const schedulesOf = async (s: Served) =>
  (await get<{ schedules: ScheduleStatus[] }>(s, '/api/schedules')).schedules;

describe('sluice serve: scheduled pipeline runs', () => {
  it('runs the pipeline at every tick, recorded in the run history, listed with its next run and counted', async () => {
    const project = tinyProject('ok');
    const s = await testSocketServer({
      pipelineConfig: project.config,
      section: { schedules: [{ name: 'every-second', cron: '* * * * * *', run: { mode: 'full' } }] },
    });
    servers.push(s);
    const runs = await until('two scheduled runs in the history', async () => {
      const rs = (await runsOf(s)).filter((r) => r.trigger === 'schedule every-second');
      return rs.length >= 2 ? rs : undefined;
    });
    for (const r of runs) {
      expect(r).toMatchObject({ mode: 'full', env: 'dev', success: true });
      expect(r.steps.map((st) => `${st.step}:${st.status}`)).toEqual([
        'ingest:ok',
        'transform:ok',
        'upload:skipped',
      ]);
    }
    const [listed] = await schedulesOf(s);
    expect(listed).toMatchObject({
      name: 'every-second',
      cron: '* * * * * *',
      timezone: 'UTC',
      mode: 'full',
      env: 'dev',
    });
    expect(listed?.counts.succeeded).toBeGreaterThanOrEqual(2);
    expect(listed?.lastRun).toMatchObject({ outcome: 'succeeded' });
    expect(runs.map((r) => r.id)).toContain(listed?.lastRun?.runId);
    // The next tick is at most a second away, on a whole second.
    const next = Date.parse(listed?.nextRunAt ?? '');
    expect(next - Date.now()).toBeLessThanOrEqual(1000);
    expect(next % 1000).toBe(0);

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const succeeded = Number(
      /sluice_schedule_runs_total\{schedule="every-second",outcome="succeeded"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(succeeded).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/sluice_schedule_runs_total\{schedule="every-second",outcome="failed"\} 0/);
    expect(metrics).toMatch(/sluice_schedule_run_duration_seconds_count\{schedule="every-second"\} [1-9]/);
    expect(metrics).toMatch(
      /sluice_schedule_last_success_timestamp_seconds\{schedule="every-second"\} 1\d{9}/,
    );
    expect(metrics).toMatch(/sluice_schedule_next_run_timestamp_seconds\{schedule="every-second"\} 1\d{9}/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect(promtool.error, 'promtool is not installed (apt-get install -y prometheus)').toBeUndefined();
    expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe('');
    // Read scope, as every API route.
    expect((await fetch(`${s.url}/api/schedules`)).status).toBe(401);
  });

  it('skips a tick that comes while the previous run still goes, counts and logs it, then runs again', async () => {
    const project = tinyProject('overlap');
    const gated = gatedRun(runScheduledPipeline);
    gates.push(gated.open);
    const { log, text } = captureLog();
    const s = await testSocketServer({
      pipelineConfig: project.config,
      runSchedule: gated.run,
      log,
      section: { schedules: [{ name: 'slow', cron: '* * * * * *' }] },
    });
    servers.push(s);
    const held = await until('two skipped ticks', async () => {
      const [st] = await schedulesOf(s);
      return st && st.counts.skipped >= 2 ? st : undefined;
    });
    expect(gated.state.calls).toBe(1);
    expect(held.state).toBe('running');
    expect(held.runningSince).not.toBeNull();
    expect(text()).toContain('scheduled run skipped: the previous run of this schedule is still going');
    gated.open();
    const done = await until('the held run to be recorded', async () => {
      const [st] = await schedulesOf(s);
      return st && st.counts.succeeded >= 1 ? st : undefined;
    });
    const recorded = (await runsOf(s)).filter((r) => r.trigger === 'schedule slow');
    expect(recorded.map((r) => r.id)).toContain(done.lastRun?.runId);
    // Never two at once: every run began after the one before it ended.
    const sorted = [...recorded].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i]?.startedAt.localeCompare(sorted[i - 1]?.finishedAt ?? '')).toBeGreaterThanOrEqual(0);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const skipped = Number(
      /sluice_schedule_runs_total\{schedule="slow",outcome="skipped"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(skipped).toBeGreaterThanOrEqual(2);
  });

  it('records a failed run with its error code, logs it, and keeps the service and the schedule going', async () => {
    const project = tinyProject('failing', [], true);
    const { log, text } = captureLog();
    const s = await testSocketServer({
      pipelineConfig: project.config,
      log,
      section: { schedules: [{ name: 'broken', cron: '* * * * * *', run: { mode: 'full', env: 'qa' } }] },
    });
    servers.push(s);
    const failed = await until('two failed runs in the history', async () => {
      const rs = (await runsOf(s, 'qa')).filter((r) => r.trigger === 'schedule broken');
      return rs.length >= 2 ? rs : undefined;
    });
    for (const r of failed) {
      expect(r).toMatchObject({ env: 'qa', success: false, error: { code: 'E004' } });
      expect(r.error?.message).toMatch(/model totals/);
    }
    const [st] = await schedulesOf(s);
    expect(st?.lastRun).toMatchObject({ outcome: 'failed', error: { code: 'E004' } });
    expect(st?.counts.failed).toBeGreaterThanOrEqual(2);
    const line = text()
      .split('\n')
      .find((l) => l.includes('scheduled run failed'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ schedule: 'broken', code: 'E004' });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  });

  it('lets two schedules of one lake and environment take turns, never running there at once', async () => {
    const project = tinyProject('lanes');
    const seen = { active: 0, most: 0 };
    const s = await testSocketServer({
      pipelineConfig: project.config,
      runSchedule: async (schedule, options) => {
        seen.active += 1;
        seen.most = Math.max(seen.most, seen.active);
        try {
          return await runScheduledPipeline(schedule, options);
        } finally {
          seen.active -= 1;
        }
      },
      section: {
        schedules: [
          { name: 'a', cron: '* * * * * *', run: { mode: 'ingest' } },
          { name: 'b', cron: '* * * * * *', run: { mode: 'ingest' } },
        ],
      },
    });
    servers.push(s);
    await until('two runs of each', async () => {
      const all = await schedulesOf(s);
      return all.every((st) => st.counts.succeeded >= 2) ? true : undefined;
    });
    expect(seen.most).toBe(1);
  });

  it('on shutdown stops the timers and waits for the run in flight within the grace period', async () => {
    const project = tinyProject('drain');
    const gated = gatedRun(runScheduledPipeline);
    gates.push(gated.open);
    const s = await testSocketServer({
      pipelineConfig: project.config,
      runSchedule: gated.run,
      section: { shutdownGrace: '10s', schedules: [{ name: 'drain', cron: '* * * * * *' }] },
    });
    servers.push(s);
    await until('a run in flight', async () => (gated.state.calls > 0 ? true : undefined));
    let stopped = false;
    const stopping = s.stop().then((summary) => {
      stopped = true;
      return summary;
    });
    await new Promise((r) => setTimeout(r, 700));
    expect(stopped).toBe(false);
    expect(s.context.schedules.list()[0]).toMatchObject({ state: 'stopped', nextRunAt: null });
    gated.open();
    const summary = await stopping;
    expect(summary.schedules).toEqual({ finished: ['drain'], abandoned: [] });
    // No tick started another run while it stopped, and the run it waited for is in the history.
    expect(gated.state.calls).toBe(1);
    expect(s.context.schedules.list()[0]?.lastRun).toMatchObject({ outcome: 'succeeded' });
    const { Pipeline } = await import('../../src/pipeline/index.ts');
    const history = await new Pipeline(project.config).getStatus(10);
    expect(history.runs.map((r) => r.trigger)).toEqual(['schedule drain']);
  });

  it('abandons a run still going when the grace period ends, and says so', async () => {
    const project = tinyProject('abandon');
    const gated = gatedRun(runScheduledPipeline);
    gates.push(gated.open);
    const { log, text } = captureLog();
    const s = await testSocketServer({
      pipelineConfig: project.config,
      runSchedule: gated.run,
      log,
      section: { shutdownGrace: '300ms', schedules: [{ name: 'stuck', cron: '* * * * * *' }] },
    });
    servers.push(s);
    await until('a run in flight', async () => (gated.state.calls > 0 ? true : undefined));
    const t0 = performance.now();
    const summary = await s.stop();
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(summary.schedules).toEqual({ finished: [], abandoned: ['stuck'] });
    expect(text()).toContain('scheduled run abandoned: still going when the shutdown grace period ended');
    expect(await s.stop()).toBe(summary);
    // Let go, the abandoned run sees its signal aborted and ends, recorded as failed with the reason.
    const [ended] = await gated.drain();
    expect(ended).toMatchObject({
      status: 'fulfilled',
      value: {
        success: false,
        trigger: 'schedule stuck',
        error: { message: expect.stringMatching(/^abandoned: sluice serve stopped/) },
      },
    });
  });
});
