// Upload benchmark on s3rver: 1,000 files of 1–20 KB plus 10 files of 8 MB, uploaded by sluice
// (uploadTree, as `sluice storage put --recursive`), by `aws s3 cp --recursive` and by
// `rclone copy`, each to its own prefix, in one run. Prints times and ratios.
// Usage: node bench/storage.ts [--quick]   (--quick: 200 small files + 2 large)
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeS3Clients } from '../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../src/storage/open.ts';
import { listKeys } from '../src/storage/scoped.ts';
import { uploadTree } from '../src/sync/upload-tree.ts';
import { startS3rver } from '../test/helpers/s3rver.ts';
import { AWS_CLI, awsEnv, createBucket, rcloneEnv, S3RVER_CREDENTIALS, timeCommand } from './peers.ts';

const quick = process.argv.includes('--quick');
const SMALL = quick ? 200 : 1000;
const LARGE = quick ? 2 : 10;
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

  const storage = openStorage(`s3://${bucket}/sluice/`, {
    s3: { endpoint: server.endpoint, credentials: creds, forcePathStyle: true },
  });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await uploadTree(tree, storage, '', { concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16) });
  const sluice = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sluiceCpu = (cpu.user + cpu.system) / 1e6;
  const uploaded = (await listKeys(storage)).length;
  if (uploaded !== files) throw new Error(`sluice uploaded ${uploaded} of ${files} files`);

  const aws = timeCommand(
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
      `s3://${bucket}/aws/`,
    ],
    env,
  );

  const rclone = timeCommand(
    'rclone copy',
    'rclone',
    ['copy', tree, `bench:${bucket}/rclone/`],
    rcloneEnv('bench', server.endpoint, env),
  );

  const fastestPeer = Math.min(aws, rclone);
  console.log(
    `sluice uploadTree:               ${sluice.toFixed(2)} s  ${(files / sluice).toFixed(0)} files/s  (client CPU ${sluiceCpu.toFixed(2)} s)`,
  );
  console.log(`aws s3 cp --recursive:          ${aws.toFixed(2)} s  ${(files / aws).toFixed(0)} files/s`);
  console.log(
    `rclone copy:                    ${rclone.toFixed(2)} s  ${(files / rclone).toFixed(0)} files/s`,
  );
  console.log(
    `ratio (peer time / sluice time, >1 = sluice faster): vs aws ${(aws / sluice).toFixed(2)}x, vs rclone ${(rclone / sluice).toFixed(2)}x, vs faster peer ${(fastestPeer / sluice).toFixed(2)}x`,
  );
} finally {
  await closeS3Clients();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
