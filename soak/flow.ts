/**
 * The feed phase of a round: `sluice fetch` lands the API's batches in the lake while `sluice
 * poll` and `sluice worker` (supervised, killed at planned moments) carry their records through
 * the queue into the time-series store; Redis restarts and the disk fills on the same timeline.
 * Then the faults stop and the flow must drain.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { openQueue } from '../src/queue/open.ts';
import { Daemon, type ExitNote, runToSuccess } from './daemons.ts';
import type { Profile, RoundPlan } from './plan.ts';
import type { Rng } from './rng.ts';
import { BUCKET, INBOX_KEEP, INCOMING, type World } from './world.ts';

export interface FlowOutcome {
  queueUrl: string;
  queueName: string;
  fetchFailures: ExitNote[];
  /** Per batch: fetch attempts killed or failed (each may have landed a copy). */
  fetchSpoiled: Map<string, number>;
  daemonExits: ExitNote[];
  /** Faults of the timeline that could not land (say, a kill when the process was restarting). */
  missedEvents: string[];
  settled: boolean;
  settleMs: number;
  /** What was left when the flow did not drain. */
  leftOver?: string;
}

export function queueOf(world: World, plan: RoundPlan): { url: string; name: string } {
  const url =
    plan.queueKind === 'sqlite' ? `sqlite:${world.disk.dir}/queue-r${plan.round}.db` : world.redis.url;
  return { url, name: `soak-r${plan.round}` };
}

export async function runFlow(
  world: World,
  plan: RoundPlan,
  profile: Profile,
  rng: Rng,
): Promise<FlowOutcome> {
  const { url, name } = queueOf(world, plan);
  for (const b of plan.batches) world.api.setBatch(b.id, b.records);
  const poller = new Daemon(world.procs, 'poll', [
    'poll',
    '--source',
    `s3://${BUCKET}/${INCOMING}`,
    '--queue',
    url,
    '--queue-name',
    name,
    '--interval',
    '1s',
    '--min-age',
    '0s',
    '--concurrency',
    '8',
  ]);
  const worker = new Daemon(world.procs, 'worker', [
    'worker',
    '--queue',
    url,
    '--queue-name',
    name,
    '--store',
    `${world.disk.dir}/ts`,
    '--concurrency',
    '8',
    '--lease',
    '5s',
  ]);
  poller.start();
  worker.start();
  const missedEvents: string[] = [];
  const fetchFailures: ExitNote[] = [];
  const fetchSpoiled = new Map<string, number>();
  const started = Date.now();
  const holds: Promise<void>[] = [];

  const timeline = (async () => {
    for (const event of plan.events) {
      const wait = started + event.at - Date.now();
      if (wait > 0) await sleep(wait);
      if (event.kind === 'kill-poller' && !(await poller.kill9())) missedEvents.push(event.kind);
      if (event.kind === 'kill-worker' && !(await worker.kill9())) missedEvents.push(event.kind);
      if (event.kind === 'redis-restart') await world.redis.crashAndRestart(event.downMs);
      if (event.kind === 'disk-full') {
        if (!world.disk.fill() && world.disk.mode === 'tmpfs') missedEvents.push('disk-full (no ENOSPC)');
        holds.push(sleep(event.holdMs).then(() => world.disk.free()));
      }
    }
    await Promise.all(holds);
  })();

  const fetchRng = rng.fork(`fetch-${plan.round}`);
  const feed = (async () => {
    for (const [i, batch] of plan.batches.entries()) {
      const result = await runToSuccess(
        world.procs,
        'fetch',
        [
          'fetch',
          world.api.url(batch.id),
          '--source',
          'soak',
          '--dataset',
          'signals',
          '--format',
          'jsonl',
          '--base',
          `s3://${BUCKET}/ingest`,
          '--retries',
          '4',
          '--retry-delay',
          '200ms',
          '--timeout',
          '10s',
        ],
        fetchRng,
        { killChance: profile.oneShotKillChance, killWithinMs: 1500 },
      );
      fetchFailures.push(...result.failures);
      fetchSpoiled.set(batch.id, result.kills + result.failures.length);
      await sleep(plan.gapsMs[i] ?? 0);
    }
  })();

  let settle: { ok: boolean; state: string };
  let settleMs: number;
  try {
    // allSettled first: a failed feed must not leave the timeline holding the disk full.
    const [t, f] = await Promise.allSettled([timeline, feed]);
    if (t.status === 'rejected') throw t.reason;
    if (f.status === 'rejected') throw f.reason;
    const settleStart = Date.now();
    settle = await waitForDrain(world, url, name, profile.settleTimeoutMs);
    settleMs = Date.now() - settleStart;
  } finally {
    world.disk.free();
    await Promise.all([poller.stop(), worker.stop()]);
  }
  return {
    queueUrl: url,
    queueName: name,
    fetchFailures,
    fetchSpoiled,
    daemonExits: [...poller.exits, ...worker.exits],
    missedEvents,
    settled: settle.ok,
    settleMs,
    ...(settle.ok ? {} : { leftOver: settle.state }),
  };
}

async function countIncoming(world: World): Promise<number> {
  const res = await world.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: INCOMING }));
  return (res.Contents ?? []).filter((o) => o.Key !== INBOX_KEEP).length;
}

/** Until nothing is left in the inbox and the queue has no waiting, delayed or active job, twice in a row. */
async function waitForDrain(
  world: World,
  url: string,
  name: string,
  timeoutMs: number,
): Promise<{ ok: boolean; state: string }> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let state = '';
  while (Date.now() < deadline) {
    await sleep(1000);
    const queue = openQueue(url, { name, create: false, connectTimeoutMs: 5000 });
    try {
      const incoming = await countIncoming(world);
      const counts = await queue.counts();
      state = `inbox ${incoming}, queue ${JSON.stringify(counts)}`;
      const busy = incoming + counts.waiting + counts.delayed + counts.active;
      quiet = busy === 0 ? quiet + 1 : 0;
      if (quiet >= 2) return { ok: true, state };
    } catch (error) {
      state = `cannot read the queue yet: ${(error as Error).message}`;
    } finally {
      await queue.close();
    }
  }
  return { ok: false, state };
}
