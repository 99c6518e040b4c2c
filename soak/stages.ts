/**
 * The downstream stages of a round, each a sluice command run to success through kill -9s (and,
 * for one stage of some rounds, a full disk): export the round's points from the time-series
 * store, write them as an operation output on S3, land them in the pipeline's lake, promote
 * dev → qa (and qa → prod every other round), and sync both ways between S3 and local disk.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ExitNote, runToSuccess } from './daemons.ts';
import type { Profile, RoundPlan } from './plan.ts';
import type { Rng } from './rng.ts';
import { BUCKET, type World } from './world.ts';

export type StageName =
  | 'export'
  | 'write'
  | 'ingest-csv'
  | 'promote-qa'
  | 'promote-prod'
  | 'sync-up'
  | 'sync-down';

export interface StageOutcome {
  stage: StageName;
  attempts: number;
  kills: number;
  failures: ExitNote[];
  ms: number;
  /** Whether the planned full disk was in place while it ran. */
  diskFull: boolean;
  error?: string;
}

export const exportFile = (world: World, round: number) =>
  path.join(world.disk.dir, 'exports', `r${round}.csv`);
export const mirrorDir = (world: World) => path.join(world.disk.dir, 'mirror');

function stageArgs(world: World, plan: RoundPlan, stage: StageName): string[] {
  const csv = exportFile(world, plan.round);
  const name = `r${plan.round}`;
  switch (stage) {
    case 'export':
      return [
        'ts',
        'export',
        `${world.disk.dir}/ts`,
        '--format',
        'csv',
        '--out',
        csv,
        '--from',
        plan.fromIso,
        '--to',
        plan.toIso,
      ];
    case 'write':
      return ['write', csv, '--task-dir', `s3://${BUCKET}/tasks/soak`, '--name', name, '--format', 'parquet'];
    case 'ingest-csv':
      return ['ingest-csv', csv, '--source', 'soak', '--name', name, '--json'];
    case 'promote-qa':
      return ['promote', 'dev', 'qa', '--json'];
    case 'promote-prod':
      return ['promote', 'qa', 'prod', '--json'];
    case 'sync-up':
      return ['sync', path.dirname(csv), `s3://${BUCKET}/exports/`, '--json'];
    case 'sync-down':
      return ['sync', `s3://${BUCKET}/pipeline/`, mirrorDir(world), '--json'];
  }
}

export async function runStages(
  world: World,
  plan: RoundPlan,
  profile: Profile,
  rng: Rng,
): Promise<StageOutcome[]> {
  mkdirSync(path.dirname(exportFile(world, plan.round)), { recursive: true });
  const stages: StageName[] = ['export', 'write', 'ingest-csv', 'promote-qa'];
  if (plan.round % 2 === 0) stages.push('promote-prod');
  stages.push('sync-up', 'sync-down');
  const out: StageOutcome[] = [];
  const r = rng.fork(`stages-${plan.round}`);
  for (const stage of stages) {
    const full = plan.downstreamDiskFull?.stage === stage ? plan.downstreamDiskFull : undefined;
    const started = Date.now();
    let hold: Promise<void> | undefined;
    let freed = false;
    const free = () => {
      if (!freed) world.disk.free();
      freed = true;
    };
    if (full) {
      hold = (async () => {
        await sleep(full.delayMs);
        world.disk.fill();
        await sleep(full.holdMs);
        free();
      })();
    }
    try {
      const res = await runToSuccess(world.procs, stage, stageArgs(world, plan, stage), r, {
        killChance: profile.oneShotKillChance,
        killWithinMs: 2500,
        // A command the full disk stopped is rerun once there is room again, as an operator would.
        beforeRetry: async (failure) => {
          if (failure && full && hold) await hold;
        },
      });
      out.push({
        stage,
        attempts: res.attempts,
        kills: res.kills,
        failures: res.failures,
        ms: Date.now() - started,
        diskFull: full !== undefined,
      });
    } catch (error) {
      out.push({
        stage,
        attempts: 0,
        kills: 0,
        failures: (error as { failures?: ExitNote[] }).failures ?? [],
        ms: Date.now() - started,
        diskFull: full !== undefined,
        error: (error as Error).message,
      });
    } finally {
      await hold;
      free();
    }
  }
  return out;
}
