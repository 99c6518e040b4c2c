// Shared set-up for the peer benchmarks: the rounds and medians every one of them reports, and the
// aws CLI and rclone set-up for those run against the run's s3rver. The S3 SDK is imported only by
// createBucket, so a bench that needs only the statistics does not load it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * How many rounds a bench runs: `--rounds N`, else BENCH_ROUNDS, else `fallback`. At least 3, so
 * the median a bench prints is never a single run or the better of two.
 */
export function benchRounds(fallback: number): number {
  const flag = process.argv.indexOf('--rounds');
  const [source, raw] =
    flag > 0 ? ['--rounds', process.argv[flag + 1]] : ['BENCH_ROUNDS', process.env.BENCH_ROUNDS];
  if (raw === undefined || raw === '') {
    if (flag > 0) throw new Error('--rounds needs a number, e.g. --rounds 5');
    return fallback;
  }
  const rounds = Number(raw);
  if (!Number.isInteger(rounds) || rounds < 3)
    throw new Error(
      `${source} must be a whole number ≥ 3 (a median needs 3 rounds), got ${JSON.stringify(raw)}`,
    );
  return rounds;
}

/** The median; of an even count, the mean of the middle two. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median over rounds of a[i] / b[i], both measured in round i. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`medianRatio: ${a.length} values against ${b.length}`);
  return median(a.map((x, i) => x / (b[i] as number)));
}

/** The contenders in round `round`'s order: rotated by one each round, so none always runs first. */
export function inRoundOrder<T>(contenders: readonly T[], round: number): T[] {
  const n = contenders.length;
  return contenders.map((_, i) => contenders[(i + round) % n] as T);
}

/**
 * The aws CLI of the Debian package (aws-cli 2), which the issues measured; a `pip install awscli`
 * (aws-cli 1) earlier on PATH would otherwise be picked up and time differently.
 */
export const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}

/** Environment for the aws CLI and sluice's CLI pointing at the test server. */
export function awsEnv(endpoint: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    ...extra,
  };
}

/**
 * Environment defining an rclone remote `<remote>:` on the test server. AWS_CA_BUNDLE is
 * removed: rclone refuses to start when it is set (ENVIRONMENT.md).
 */
export function rcloneEnv(
  remote: string,
  endpoint: string,
  base: NodeJS.ProcessEnv = awsEnv(endpoint),
): NodeJS.ProcessEnv {
  const prefix = `RCLONE_CONFIG_${remote.toUpperCase()}_`;
  const env: NodeJS.ProcessEnv = {
    ...base,
    [`${prefix}TYPE`]: 's3',
    [`${prefix}PROVIDER`]: 'Other',
    [`${prefix}ENDPOINT`]: endpoint,
    [`${prefix}ACCESS_KEY_ID`]: S3RVER_CREDENTIALS.accessKeyId,
    [`${prefix}SECRET_ACCESS_KEY`]: S3RVER_CREDENTIALS.secretAccessKey,
    [`${prefix}FORCE_PATH_STYLE`]: 'true',
  };
  delete env.AWS_CA_BUNDLE;
  return env;
}

/** Runs a command to completion and returns its wall time in seconds; throws on failure. */
export function timeCommand(
  label: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): number {
  const start = performance.now();
  const res = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
  const seconds = (performance.now() - start) / 1000;
  if (res.error) throw new Error(`${label}: cannot run ${cmd}: ${res.error.message}`);
  if (res.status !== 0)
    throw new Error(`${label} failed (${res.status}): ${String(res.stderr).slice(0, 800)}`);
  return seconds;
}
