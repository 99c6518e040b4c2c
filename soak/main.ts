/**
 * The fault soak of issue #14, "Nothing lost under faults": `npm run soak -- [--short] [--seed N]`.
 * Each round carries seeded batches from an HTTP API through `sluice fetch` → lake (S3) →
 * `sluice poll` → queue (SQLite or Redis, alternating) → `sluice worker` → time-series store →
 * `sluice ts export` → `sluice write` → `sluice ingest-csv` → `sluice promote` → `sluice sync`,
 * against s3rver behind a fault proxy, with kill -9 of every sluice process, Redis crashes and a
 * full disk; then checks that nothing was lost or duplicated beyond each stage's promise.
 * See docs/soak.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { closeS3Clients } from '../src/storage/drivers/s3/s3-storage.ts';
import { parseSoakArgs, USAGE } from './args.ts';
import { runFlow } from './flow.ts';
import { closeDuck, dirUsage } from './inspect.ts';
import { printDaemonLogTails } from './log-tails.ts';
import { planRound, type RoundPlan } from './plan.ts';
import { printFinal, printRound, type RoundReport } from './report.ts';
import { Rng } from './rng.ts';
import { runStages } from './stages.ts';
import { addInto, type Tally } from './tally.ts';
import { checkLake, checkQueue, checkStore, roundObjects } from './verify-flow.ts';
import { checkPromotion, checkSyncs, checkTables } from './verify-outputs.ts';
import { startWorld, type World } from './world.ts';

let args: ReturnType<typeof parseSoakArgs>;
try {
  args = parseSoakArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`soak: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
const { profile, seed } = args;
const rng = new Rng(seed);
const started = Date.now();
const log = (line: string) => process.stdout.write(`${line}\n`);

log(`sluice fault soak: profile ${profile.name}, ${profile.rounds} rounds, seed ${seed}`);
log(`replay: npm run soak -- ${profile.name === 'short' ? '--short ' : ''}--seed ${seed}`);

let world: World | undefined;
let interrupted = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write(`soak: ${signal}, tearing down\n`);
  void (world?.close(args.keep) ?? Promise.resolve()).finally(() =>
    process.exit(signal === 'SIGINT' ? 130 : 143),
  );
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let exitCode = 0;
try {
  world = await startWorld(rng, { diskSize: args.diskSize, noTmpfs: args.noTmpfs });
  const w = world;
  log(
    w.disk.mode === 'tmpfs'
      ? `disk: tmpfs of ${args.diskSize} mounted at ${w.disk.dir} (full disk = the kernel's ENOSPC)`
      : `disk: NO tmpfs (${w.disk.reason}); fs fault layer at ${w.disk.dir} (JavaScript writes only: SQLite and DuckDB do not see it)`,
  );
  log(
    `run folder: ${w.runDir}${args.keep ? ' (kept)' : ''}; Redis on port ${w.redis.port}; s3rver ${w.s3rver.endpoint} behind ${w.proxy.endpoint}`,
  );
  w.proxy.setRates(profile.proxy);
  w.api.setRates(profile.api);
  const firstKind = rng.fork('queue-kind').pick(['sqlite', 'redis'] as const);
  const totals = new Map<string, Tally>();
  const plans: RoundPlan[] = [];
  const reports: RoundReport[] = [];
  const claimed = new Set<string>();
  // The test S3 server is not under test: if it dies, the run stops and says so.
  let s3rverDied: string | undefined;
  void w.s3rver.crashed.then((c) => {
    s3rverDied = `s3rver (the test S3 server) exited (code ${c.code}, signal ${c.signal}): ${c.stderr.trim().slice(-1500) || 'no stderr'}`;
    log(`soak: ${s3rverDied}`);
  });
  let aborted: string | undefined;
  for (let round = 1; round <= profile.rounds && !interrupted && !aborted; round++) {
    const roundStart = Date.now();
    const plan = planRound(profile, round, rng, firstKind);
    plans.push(plan);
    let flow: Awaited<ReturnType<typeof runFlow>>;
    let stages: Awaited<ReturnType<typeof runStages>>;
    try {
      flow = await runFlow(w, plan, profile, rng);
      stages = await runStages(w, plan, profile, rng);
    } catch (error) {
      aborted = `round ${round} stopped: ${(error as Error).message}${s3rverDied ? ` — ${s3rverDied}` : ''}`;
      log(`! ${aborted}`);
      break;
    }
    const objects = await roundObjects(w, claimed);
    const lake = checkLake(plan, objects, { spoiled: flow.fetchSpoiled });
    const { queue, worker } = await checkQueue(flow.queueUrl, flow.queueName, objects);
    const store = await checkStore(w, plans);
    const tallies = [lake, queue, worker, store.now, store.earlier, ...(await checkTables(w, plan))];
    tallies.push(await checkPromotion(w, plan, 'dev', 'qa'));
    if (round % 2 === 0) tallies.push(await checkPromotion(w, plan, 'qa', 'prod'));
    tallies.push(...(await checkSyncs(w)));
    for (const t of tallies) addInto(totals, t, round);
    const report: RoundReport = {
      plan,
      flow,
      stages,
      tallies,
      store: dirUsage(`${w.disk.dir}/ts`),
      ms: Date.now() - roundStart,
    };
    reports.push(report);
    printRound(report, profile.rounds, log);
  }
  exitCode = printFinal(
    { world: w, profile, seed, reports, totals, ms: Date.now() - started, ...(aborted ? { aborted } : {}) },
    log,
  );
  // A failure seen once in CI must be explainable from CI's output alone (timing decides some).
  if (exitCode !== 0) printDaemonLogTails(w.runDir, log);
} catch (error) {
  process.stderr.write(`soak: aborted: ${(error as Error).stack ?? String(error)}\n`);
  exitCode = 1;
} finally {
  await closeDuck().catch(() => {});
  await closeS3Clients().catch(() => {});
  if (world && !interrupted) await world.close(args.keep);
}
await sleep(10);
process.exit(exitCode);
