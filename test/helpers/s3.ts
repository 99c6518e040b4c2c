import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';

export const TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestBucket {
  bucket: string;
  endpoint: string;
  /** `s3://bucket/` plus an optional prefix. */
  url(prefix?: string): string;
  /** Environment for child processes (CLI, aws, rclone) pointing at the test server. */
  env: Record<string, string>;
  client: S3Client;
}

export function s3Endpoint(): string {
  return inject('s3Endpoint');
}

/** Creates a bucket with a unique name on the run's s3rver. */
export async function freshBucket(label = 't'): Promise<TestBucket> {
  const endpoint = s3Endpoint();
  const bucket = `${label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30)}-${randomBytes(4).toString('hex')}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
  return { bucket, endpoint, url: (prefix = '') => `s3://${bucket}/${prefix}`, env, client };
}

/** Options for openStorage() against the test server. */
export function s3Options() {
  return {
    s3: { endpoint: s3Endpoint(), region: 'us-east-1', forcePathStyle: true, credentials: TEST_CREDENTIALS },
  };
}
