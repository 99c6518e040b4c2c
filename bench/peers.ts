// Shared set-up for benchmarks that run the aws CLI and rclone against the run's s3rver.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * The aws CLI of the Debian package (aws-cli 2), which the issues measured; a `pip install awscli`
 * (aws-cli 1) earlier on PATH would otherwise be picked up and time differently.
 */
export const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
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
