/**
 * What the soak prints: one line per round, then the faults injected per kind (as counted where
 * they happened: the proxy, the API, the kill calls, Redis restarts, the filler's ENOSPC and
 * sluice's own log lines), records in and out per stage, peak RSS, and the verdict.
 */
import { loadavg } from 'node:os';
import type { ExitNote } from './daemons.ts';
import type { FlowOutcome } from './flow.ts';
import type { Profile, RoundPlan } from './plan.ts';
import type { StageOutcome } from './stages.ts';
import type { Tally } from './tally.ts';
import type { World } from './world.ts';

export interface RoundReport {
  plan: RoundPlan;
  flow: FlowOutcome;
  stages: StageOutcome[];
  tallies: Tally[];
  /** The time-series store's folder after the round. */
  store: { bytes: number; files: number; wal: number };
  ms: number;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

export function printRound(r: RoundReport, rounds: number, log: (l: string) => void): void {
  const records = r.plan.batches.reduce((a, b) => a + b.records.length, 0);
  const lost = r.tallies.reduce((a, t) => a + t.lost, 0);
  const dup = r.tallies.reduce((a, t) => a + t.duplicated, 0);
  const events = r.plan.events.map((e) => e.kind).join(', ');
  const kills = r.stages.reduce((a, st) => a + st.kills, 0);
  const full = r.plan.downstreamDiskFull ? `, disk full in ${r.plan.downstreamDiskFull.stage}` : '';
  log(
    `round ${r.plan.round}/${rounds} ${r.plan.queueKind.padEnd(6)} ${r.plan.batches.length} batches, ${records} records; ` +
      `faults: ${events}${full}; ${kills} downstream kills; settle ${r.flow.settled ? s(r.flow.settleMs) : 'TIMED OUT'}; ` +
      `store ${(r.store.bytes / 2 ** 20).toFixed(1)} MB in ${r.store.files} files (${r.store.wal} log); ` +
      `lost ${lost}, duplicated ${dup} (${s(r.ms)})`,
  );
  for (const t of r.tallies) for (const d of t.details) log(`  ! ${t.stage}: ${d}`);
  if (!r.flow.settled) log(`  ! the flow did not drain: ${r.flow.leftOver}`);
  for (const st of r.stages) if (st.error) log(`  ! ${st.stage}: ${st.error}`);
  if (r.flow.missedEvents.length > 0)
    log(`  (faults that found no target: ${r.flow.missedEvents.join(', ')})`);
}

export interface FinalInput {
  world: World;
  profile: Profile;
  seed: number;
  reports: RoundReport[];
  totals: Map<string, Tally>;
  ms: number;
  /** Why the run stopped before its last round. */
  aborted?: string;
}

function table(rows: string[][], log: (l: string) => void): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows)
    log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}`);
}

/** Prints the summary; returns the exit code (0 only if nothing was lost or duplicated and every fault kind happened). */
export function printFinal(input: FinalInput, log: (l: string) => void): number {
  const { world, reports, totals } = input;
  const p = world.proxy.counters;
  const a = world.api.counters;
  const stats = [...world.procs.stats.entries()].sort(([x], [y]) => x.localeCompare(y));
  const kills = stats.filter(([, st]) => st.kills > 0).map(([k, st]) => `${k} ${st.kills}`);
  const enospc = stats.filter(([, st]) => st.enospcLines > 0).map(([k, st]) => `${k} ${st.enospcLines}`);
  const killTotal = stats.reduce((n, [, st]) => n + st.kills, 0);
  const enospcTotal = stats.reduce((n, [, st]) => n + st.enospcLines, 0);
  log('');
  log(
    `== ${reports.length} rounds in ${s(input.ms)} (seed ${input.seed}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  log('faults injected:');
  log(
    `  S3 proxy: ${p.requests} requests, ${p.resets} resets mid-body, ${p.shorts} short bodies, ${p.stalls} stalls, ${p.slowDowns} 503 SlowDown, ${p.putResets} of ${p.puts} uploads reset mid-body`,
  );
  log(
    `  HTTP API: ${a.requests} requests, ${a.unavailable} 503, ${a.resets} resets mid-body, ${a.stalls} stalls`,
  );
  log(`  kill -9: ${killTotal} (${kills.join(', ') || 'none'})`);
  log(`  Redis crash + restart: ${world.redis.restarts} (down ${s(world.redis.downMs)} in all)`);
  const diskLine =
    world.disk.mode === 'tmpfs'
      ? `${world.disk.windows} windows, filler refused with ENOSPC ${world.disk.fillerEnospc} times`
      : `${world.disk.windows} windows (fs layer: ${world.disk.layerInjected()} writes refused)`;
  log(
    `  disk full: ${diskLine}; ENOSPC/disk-full lines logged by sluice: ${enospcTotal} (${enospc.join(', ') || 'none'})`,
  );

  const fetched = reports.reduce((n, r) => n + r.plan.batches.reduce((m, b) => m + b.records.length, 0), 0);
  const stored = totals.get('worker → store')?.out ?? 0;
  log(`records: ${fetched} in (served by the API), ${stored} out (points in the store)`);
  const rows = [['stage', 'unit', 'in', 'out', 'lost', 'duplicated', 'promise']];
  for (const t of totals.values())
    rows.push([
      t.stage,
      t.unit,
      String(t.in),
      String(t.out),
      String(t.lost),
      String(t.duplicated),
      t.promise,
    ]);
  table(rows, log);
  for (const t of totals.values()) for (const n of t.notes.slice(0, 6)) log(`  note: ${t.stage}: ${n}`);

  log('peak RSS of sluice processes:');
  log(
    `  ${stats.map(([k, st]) => `${k} ${mb(st.peakRssKb)}`).join(', ')}; max ${mb(world.procs.peakRssKb())}`,
  );
  const failures: ExitNote[] = [
    ...reports.flatMap((r) => [...r.flow.fetchFailures, ...r.flow.daemonExits]),
    ...reports.flatMap((r) => r.stages.flatMap((st) => st.failures)),
  ];
  if (failures.length > 0) {
    log(`exits the soak did not cause (${failures.length}; each was retried):`);
    const byLine = new Map<string, number>();
    for (const f of failures) {
      const key = `${f.kind}: ${f.line.replace(/\b[0-9a-f]{12,}\b|\d{8}T\d{9}Z|r[0-9a-f]{12}/g, '…')}`;
      byLine.set(key, (byLine.get(key) ?? 0) + 1);
    }
    for (const [line, n] of [...byLine].slice(0, 20)) log(`  ${n}× ${line}`);
  }

  const lost = [...totals.values()].reduce((n, t) => n + t.lost, 0);
  const duplicated = [...totals.values()].reduce((n, t) => n + t.duplicated, 0);
  const unsettled = reports.filter((r) => !r.flow.settled).length;
  const stageErrors = reports.flatMap((r) => r.stages.filter((st) => st.error)).length;
  const missing: string[] = [];
  if (p.resets === 0) missing.push('S3 resets');
  if (p.slowDowns === 0) missing.push('S3 503s');
  if (p.stalls === 0) missing.push('S3 stalls');
  if (killTotal === 0) missing.push('kill -9');
  if (reports.some((r) => r.plan.queueKind === 'redis') && world.redis.restarts === 0)
    missing.push('Redis restarts');
  if (world.disk.windows === 0 || (world.disk.mode === 'tmpfs' && world.disk.fillerEnospc === 0))
    missing.push('full disk');
  // A full disk no sluice process ever ran into tested nothing.
  if (world.disk.mode === 'tmpfs' ? enospcTotal === 0 : world.disk.layerInjected() === 0)
    missing.push('ENOSPC seen by sluice');
  const problems = [
    ...(input.aborted ? [`run stopped early: ${input.aborted}`] : []),
    ...(lost > 0 ? [`lost ${lost}`] : []),
    ...(duplicated > 0 ? [`duplicated ${duplicated}`] : []),
    ...(unsettled > 0 ? [`${unsettled} rounds did not drain`] : []),
    ...(stageErrors > 0 ? [`${stageErrors} stages never succeeded`] : []),
    ...(missing.length > 0 ? [`faults never injected: ${missing.join(', ')}`] : []),
  ];
  log(`lost = ${lost}, duplicated = ${duplicated}`);
  if (problems.length === 0) {
    log(`PASS: nothing lost or duplicated beyond what each stage promises (seed ${input.seed})`);
    return 0;
  }
  log(
    `FAIL: ${problems.join('; ')} — replay with --seed ${input.seed}${input.profile.name === 'short' ? ' --short' : ''}`,
  );
  return 1;
}
