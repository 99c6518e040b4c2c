// Sync benchmark on s3rver, one run: a 2,000-file tree (1,900 files of 1–20 KB, 100 of 0.2–2 MB)
// synced by `sluice sync` (the CLI, process start included), `aws s3 sync` and `rclone sync`,
// each to its own prefix: a full upload, then a no-op re-sync. Prints times and ratios.
// The CLI is run as users run it after `npm ci`: bin/sluice.js over the compiled dist/ (built by
// `prepare`; run `npm run build` after changing src/), with a warm compile cache. The library's
// own time (no process start) is printed too.
// Usage: node bench/sync.ts [--quick]   (--quick: 380 small + 20 large files; BENCH_ROUNDS=2,
// BENCH_NOOP_RUNS=3 no-ops after each full upload and an untimed `sync`, best kept, for every
// tool alike)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeS3Clients } from '../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../src/storage/open.ts';
import { syncStorages } from '../src/sync/sync.ts';
import { startS3rver } from '../test/helpers/s3rver.ts';
import { AWS_CLI, awsEnv, createBucket, rcloneEnv, S3RVER_CREDENTIALS, timeCommand } from './peers.ts';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const SMALL = quick ? 380 : 1900;
const LARGE = quick ? 20 : 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const NOOP_RUNS = Number(process.env.BENCH_NOOP_RUNS ?? 3);
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
  const env = awsEnv(server.endpoint, {
    SLUICE_CACHE_DIR: path.join(work, 'cache'),
    NODE_COMPILE_CACHE: path.join(work, 'compile-cache'),
  });
  timeCommand('warm-up', process.execPath, [path.join(ROOT, 'bin/sluice.js'), 'sync', '--help'], env, ROOT);
  const rcloneEnvX = rcloneEnv('x', server.endpoint, env);
  console.log(
    `tree: ${SMALL} files of 1–20 KB + ${LARGE} of 0.2–2 MB = ${(totalBytes / 1048576).toFixed(1)} MiB; s3rver at ${server.endpoint}`,
  );
  const tools = (round: number) =>
    [
      [
        'sluice sync',
        process.execPath,
        [path.join(ROOT, 'bin/sluice.js'), 'sync', tree, `s3://${bucket}/sluice-${round}/`],
        env,
      ],
      [
        'aws s3 sync',
        AWS_CLI,
        [
          's3',
          'sync',
          tree,
          `s3://${bucket}/aws-${round}/`,
          '--endpoint-url',
          server.endpoint,
          '--only-show-errors',
        ],
        env,
      ],
      ['rclone sync', 'rclone', ['sync', tree, `X:${bucket}/rclone-${round}`], rcloneEnvX],
    ] as const;
  // Rounds interleave the tools and keep each one's best time: the machine is shared and noisy.
  const results: Record<string, { full: number; noop: number }> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, cmd, args, e] of tools(round)) {
      const full = timeCommand(`${name} full`, cmd, [...args], e, ROOT);
      // A no-op takes well under a second: one sample is at the mercy of the disk flushing the
      // full upload just before. So, for every tool alike, the upload's writes are flushed first
      // (untimed `sync`) and NOOP_RUNS back-to-back no-ops are timed, the best kept.
      execFileSync('sync');
      const noops = Array.from({ length: NOOP_RUNS }, () =>
        timeCommand(`${name} no-op`, cmd, [...args], e, ROOT),
      );
      const noop = Math.min(...noops);
      const best = results[name];
      results[name] = { full: Math.min(full, best?.full ?? full), noop: Math.min(noop, best?.noop ?? noop) };
      console.log(
        `round ${round + 1}: ${name.padEnd(12)} full ${full.toFixed(2)} s   no-op ${noops.map((t) => t.toFixed(2)).join(' / ')} s`,
      );
    }
  }
  for (const [name, r] of Object.entries(results))
    console.log(`best ${name.padEnd(12)} full ${r.full.toFixed(2)} s   no-op ${r.noop.toFixed(2)} s`);
  // The library alone, in this process, to a fresh prefix.
  const dst = openStorage(`s3://${bucket}/lib/`, {
    s3: { endpoint: server.endpoint, credentials: creds, forcePathStyle: true },
  });
  const src = openStorage(tree);
  const cacheDir = path.join(work, 'lib-cache');
  let t = performance.now();
  await syncStorages(src, dst, { cacheDir });
  const libFull = (performance.now() - t) / 1000;
  t = performance.now();
  const again = await syncStorages(src, dst, { cacheDir });
  const libNoop = (performance.now() - t) / 1000;
  if (again.uploaded.length !== 0) throw new Error(`no-op re-sync uploaded ${again.uploaded.length} files`);
  await closeS3Clients();
  console.log(
    `${'sluice lib'.padEnd(12)} full ${libFull.toFixed(2)} s   no-op ${libNoop.toFixed(2)} s   (syncStorages in-process)`,
  );
  const s = results['sluice sync'] as { full: number; noop: number };
  for (const peer of ['aws s3 sync', 'rclone sync']) {
    const p = results[peer] as { full: number; noop: number };
    console.log(
      `vs ${peer}: full upload ${(p.full / s.full).toFixed(2)}× as fast, no-op re-sync ${(p.noop / s.noop).toFixed(2)}× as fast`,
    );
  }
  const fasterFull = Math.min(results['aws s3 sync']?.full ?? 0, results['rclone sync']?.full ?? 0);
  const fasterNoop = Math.min(results['aws s3 sync']?.noop ?? 0, results['rclone sync']?.noop ?? 0);
  console.log(
    `goals: full ≤ faster peer (${s.full <= fasterFull ? 'met' : 'NOT met'}), no-op ≥ 3× faster than either (${fasterNoop / s.noop >= 3 ? 'met' : 'NOT met'})`,
  );
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
