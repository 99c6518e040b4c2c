// Upload benchmark on s3rver: 1,000 files of 1–20 KB plus 10 files of 8 MB, uploaded by sluice
// (uploadTree in this process, as `sluice storage put --recursive` does), by `aws s3 cp --recursive`
// and by `rclone copy`, each to its own prefix per round, in one run. Prints times and ratios.
// Statistic: every figure is the median of N rounds (default 3; `--rounds N` or BENCH_ROUNDS), the
// tools' order rotated each round; ratios are the medians of the per-round ratios.
// Usage: node bench/storage.ts [--quick] [--rounds N]   (--quick: 200 small files + 2 large)
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeS3Clients } from '../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../src/storage/open.ts';
import { listKeys } from '../src/storage/scoped.ts';
import { uploadTree } from '../src/sync/upload-tree.ts';
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

const quick = process.argv.includes('--quick');
const SMALL = quick ? 200 : 1000;
const LARGE = quick ? 2 : 10;
const ROUNDS = benchRounds(3);
const creds = S3RVER_CREDENTIALS;

function makeTree(dir: string): number {
  let bytes = 0;
  for (let i = 0; i < SMALL; i++) {
    const size = 1024 + Math.floor(Math.random() * 19 * 1024);
    const file = path.join(dir, `small/d${i % 20}/f${i}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(size));
    bytes += size;
  }
  for (let i = 0; i < LARGE; i++) {
    const file = path.join(dir, `large/big${i}.bin`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(8 * 1024 * 1024));
    bytes += 8 * 1024 * 1024;
  }
  return bytes;
}

const server = await startS3rver();
const work = mkdtempSync(path.join(tmpdir(), 'sluice-bench-storage-'));
try {
  const tree = path.join(work, 'tree');
  const totalBytes = makeTree(tree);
  const files = SMALL + LARGE;
  const bucket = `bench-${randomBytes(3).toString('hex')}`;
  await createBucket(server.endpoint, bucket);
  const env = awsEnv(server.endpoint);
  console.log(
    `tree: ${SMALL} files of 1–20 KB + ${LARGE} files of 8 MB = ${(totalBytes / 1048576).toFixed(1)} MiB, s3rver at ${server.endpoint}`,
  );

  const s3 = { endpoint: server.endpoint, credentials: creds, forcePathStyle: true };
  const sluiceCpu: number[] = [];
  const uploadWithSluice = async (round: number) => {
    const storage = openStorage(`s3://${bucket}/sluice-${round}/`, { s3 });
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await uploadTree(tree, storage, '', { concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16) });
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    sluiceCpu.push((cpu.user + cpu.system) / 1e6);
    const uploaded = (await listKeys(storage)).length;
    if (uploaded !== files) throw new Error(`sluice uploaded ${uploaded} of ${files} files`);
    return seconds;
  };
  const rcloneBenchEnv = rcloneEnv('bench', server.endpoint, env);
  const tools = [
    { name: 'sluice', run: uploadWithSluice },
    {
      name: 'aws',
      run: async (round: number) =>
        timeCommand(
          'aws s3 cp',
          AWS_CLI,
          [
            '--endpoint-url',
            server.endpoint,
            's3',
            'cp',
            '--recursive',
            '--only-show-errors',
            tree,
            `s3://${bucket}/aws-${round}/`,
          ],
          env,
        ),
    },
    {
      name: 'rclone',
      run: async (round: number) =>
        timeCommand(
          'rclone copy',
          'rclone',
          ['copy', tree, `bench:${bucket}/rclone-${round}/`],
          rcloneBenchEnv,
        ),
    },
  ] as const;
  const times: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const { name, run } of inRoundOrder(tools, round)) {
      const seconds = await run(round);
      times[name]?.push(seconds);
      console.log(`round ${round + 1}: ${name.padEnd(7)} ${seconds.toFixed(2)} s`);
    }
  }
  const at = (name: string) => times[name] ?? [];
  const [sluice, aws, rclone] = [median(at('sluice')), median(at('aws')), median(at('rclone'))];
  const fasterPeer = at('aws').map((a, i) => Math.min(a, at('rclone')[i] as number));
  console.log(`\nmedians of ${ROUNDS} rounds, tools in rotating order:`);
  console.log(
    `sluice uploadTree:               ${sluice.toFixed(2)} s  ${(files / sluice).toFixed(0)} files/s  (client CPU ${median(sluiceCpu).toFixed(2)} s)`,
  );
  console.log(`aws s3 cp --recursive:          ${aws.toFixed(2)} s  ${(files / aws).toFixed(0)} files/s`);
  console.log(
    `rclone copy:                    ${rclone.toFixed(2)} s  ${(files / rclone).toFixed(0)} files/s`,
  );
  console.log(
    `ratio (peer time / sluice time, >1 = sluice faster; median of the per-round ratios): vs aws ${medianRatio(at('aws'), at('sluice')).toFixed(2)}x, vs rclone ${medianRatio(at('rclone'), at('sluice')).toFixed(2)}x, vs faster peer ${medianRatio(fasterPeer, at('sluice')).toFixed(2)}x`,
  );
} finally {
  await closeS3Clients();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
