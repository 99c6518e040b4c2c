// Sync benchmark on s3rver: a 2,000-file tree (1,900 files of 1–20 KB, 100 of 0.2–2 MB) synced by
// `sluice sync` (the CLI, process start included), `aws s3 sync` and `rclone sync`, each to its own
// prefix: a full upload, then no-op re-syncs. The library's own time (syncStorages in this process,
// no process start) is measured in the same rounds. Prints medians and ratios.
// The CLI is run as users run it after `npm ci`: bin/sluice.js over the compiled dist/ (built by
// `prepare`; run `npm run build` after changing src/), with a warm compile cache.
// Statistic: every figure is the median of N rounds (default 3; `--rounds N` or BENCH_ROUNDS), the
// tools' order rotated each round. In a round each tool does a full upload, an untimed `sync` of
// the disk, then BENCH_NOOP_RUNS (default 3) no-ops, whose median is the round's no-op. Ratios are
// the medians of the per-round ratios.
// Usage: node bench/sync.ts [--quick] [--rounds N]   (--quick: 380 small + 20 large files)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeS3Clients } from '../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../src/storage/open.ts';
import { syncStorages } from '../src/sync/sync.ts';
import { startS3rver } from '../test/helpers/s3rver.ts';
import {
  AWS_CLI,
  awsEnv,
  benchRounds,
  createBucket,
  inRoundOrder,
  median,
  medianRatio,
  rcloneEnv,
  S3RVER_CREDENTIALS,
  timeCommand,
} from './peers.ts';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const SMALL = quick ? 380 : 1900;
const LARGE = quick ? 20 : 100;
const ROUNDS = benchRounds(3);
const NOOP_RUNS = Number(process.env.BENCH_NOOP_RUNS ?? 3);
if (!Number.isInteger(NOOP_RUNS) || NOOP_RUNS < 1)
  throw new Error(`BENCH_NOOP_RUNS must be a whole number ≥ 1, got ${process.env.BENCH_NOOP_RUNS}`);
const creds = S3RVER_CREDENTIALS;
const ROOT = path.resolve(import.meta.dirname, '..');

function makeTree(dir: string): number {
  let bytes = 0;
  const write = (rel: string, size: number) => {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(size));
    bytes += size;
  };
  for (let i = 0; i < SMALL; i++)
    write(`small/d${i % 40}/f${i}.json`, 1024 + Math.floor(Math.random() * 19 * 1024));
  for (let i = 0; i < LARGE; i++)
    write(`large/d${i % 5}/big${i}.bin`, 200 * 1024 + Math.floor(Math.random() * 1.8 * 1024 * 1024));
  return bytes;
}

const server = await startS3rver();
const work = mkdtempSync(path.join(tmpdir(), 'sluice-bench-sync-'));
try {
  const tree = path.join(work, 'tree');
  const totalBytes = makeTree(tree);
  const bucket = `bench-sync-${randomBytes(3).toString('hex')}`;
  await createBucket(server.endpoint, bucket);
  const env = awsEnv(server.endpoint, { NODE_COMPILE_CACHE: path.join(work, 'compile-cache') });
  timeCommand('warm-up', process.execPath, [path.join(ROOT, 'bin/sluice.js'), 'sync', '--help'], env, ROOT);
  const rcloneEnvX = rcloneEnv('x', server.endpoint, env);
  console.log(
    `tree: ${SMALL} files of 1–20 KB + ${LARGE} of 0.2–2 MB = ${(totalBytes / 1048576).toFixed(1)} MiB; s3rver at ${server.endpoint}`,
  );
  // Each round starts sluice with an empty hash cache (its own SLUICE_CACHE_DIR / cacheDir): with
  // the cache of an earlier round, sluice's full upload would skip hashing the local tree, an
  // advantage over the peers (which keep no state) that a first sync does not have. The no-ops
  // then use the cache the round's full upload filled, as a user's re-sync does.
  const cli = (
    name: string,
    cmd: string,
    args: (round: number) => string[],
    e: (round: number) => NodeJS.ProcessEnv,
  ) => ({ name, run: async (round: number) => timeCommand(name, cmd, args(round), e(round), ROOT) }) as const;
  const sluiceEnv = (round: number) => ({ ...env, SLUICE_CACHE_DIR: path.join(work, `cache-${round}`) });
  const s3 = { endpoint: server.endpoint, credentials: creds, forcePathStyle: true };
  const tools = [
    cli(
      'sluice sync',
      process.execPath,
      (round) => [path.join(ROOT, 'bin/sluice.js'), 'sync', tree, `s3://${bucket}/sluice-${round}/`],
      sluiceEnv,
    ),
    cli(
      'aws s3 sync',
      AWS_CLI,
      (round) => [
        's3',
        'sync',
        tree,
        `s3://${bucket}/aws-${round}/`,
        '--endpoint-url',
        server.endpoint,
        '--only-show-errors',
      ],
      () => env,
    ),
    cli(
      'rclone sync',
      'rclone',
      (round) => ['sync', tree, `X:${bucket}/rclone-${round}`],
      () => rcloneEnvX,
    ),
    {
      name: 'sluice lib',
      run: async (round: number) => {
        const t = performance.now();
        await syncStorages(openStorage(tree), openStorage(`s3://${bucket}/lib-${round}/`, { s3 }), {
          cacheDir: path.join(work, `lib-cache-${round}`),
        });
        return (performance.now() - t) / 1000;
      },
    },
  ] as const;
  const full: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t.name, []]));
  const noop: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const { name, run } of inRoundOrder(tools, round)) {
      const f = await run(round);
      // A no-op takes well under a second: one sample is at the mercy of the disk flushing the
      // full upload just before. So, for every tool alike, the upload's writes are flushed first
      // (untimed `sync`) and NOOP_RUNS back-to-back no-ops are timed, their median kept.
      execFileSync('sync');
      const noops: number[] = [];
      for (let i = 0; i < NOOP_RUNS; i++) noops.push(await run(round));
      full[name]?.push(f);
      noop[name]?.push(median(noops));
      console.log(
        `round ${round + 1}: ${name.padEnd(12)} full ${f.toFixed(2)} s   no-op ${noops.map((t) => t.toFixed(2)).join(' / ')} s (median ${median(noops).toFixed(2)})`,
      );
    }
  }
  // The library's no-op must upload nothing: checked once, outside the timings.
  const again = await syncStorages(openStorage(tree), openStorage(`s3://${bucket}/lib-0/`, { s3 }), {
    cacheDir: path.join(work, 'lib-cache-0'),
  });
  if (again.uploaded.length !== 0) throw new Error(`no-op re-sync uploaded ${again.uploaded.length} files`);
  await closeS3Clients();
  console.log(
    `\nmedians of ${ROUNDS} rounds, tools in rotating order (a round's no-op: median of its ${NOOP_RUNS}):`,
  );
  for (const { name } of tools)
    console.log(
      `${name.padEnd(12)} full ${median(full[name] ?? []).toFixed(2)} s   no-op ${median(noop[name] ?? []).toFixed(2)} s${name === 'sluice lib' ? '   (syncStorages in-process)' : ''}`,
    );
  const at = (times: Record<string, number[]>, name: string) => times[name] ?? [];
  const fasterPeer = (times: Record<string, number[]>) =>
    at(times, 'aws s3 sync').map((a, i) => Math.min(a, at(times, 'rclone sync')[i] as number));
  console.log('ratios: peer time / sluice sync time, the median of the per-round ratios');
  for (const peer of ['aws s3 sync', 'rclone sync']) {
    console.log(
      `vs ${peer}: full upload ${medianRatio(at(full, peer), at(full, 'sluice sync')).toFixed(2)}× as fast, no-op re-sync ${medianRatio(at(noop, peer), at(noop, 'sluice sync')).toFixed(2)}× as fast`,
    );
  }
  const fullVsFaster = medianRatio(fasterPeer(full), at(full, 'sluice sync'));
  const noopVsFaster = medianRatio(fasterPeer(noop), at(noop, 'sluice sync'));
  console.log(
    `goals: full ≤ faster peer (${fullVsFaster.toFixed(2)}×: ${fullVsFaster >= 1 ? 'met' : 'NOT met'}), no-op ≥ 3× faster than either (${noopVsFaster.toFixed(2)}×: ${noopVsFaster >= 3 ? 'met' : 'NOT met'})`,
  );
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
