/**
 * S3 with no credentials anywhere (no keys in the environment, no profile, no instance role
 * reachable): one coded error saying what to set, marked permanent (no retry loop), and nothing
 * written. The SDK's own CredentialsProviderError used to reach the user as a retryable E002.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { isTransient } from '../../src/errors.ts';
import { createS3Storage } from '../../src/storage/drivers/s3/s3-storage.ts';
import { runSluice } from '../helpers/cli.ts';
import { freshBucket, s3Endpoint } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

/** An environment in which the SDK's chain finds nothing: empty keys, no profile, empty ~/.aws. */
function noCredentials(home: string): Record<string, string> {
  return {
    HOME: home,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_CONFIG_FILE: path.join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
    AWS_ENDPOINT_URL_S3: s3Endpoint(),
  };
}

describe('S3 without credentials', { timeout: 60_000 }, () => {
  it('storage ls and put fail within seconds with E002 naming what to set; nothing is written', async () => {
    const b = await freshBucket('nocreds');
    const home = tempDir('nocreds-home');
    const env = noCredentials(home);
    const t0 = Date.now();
    const ls = await runSluice(['storage', 'ls', `s3://${b.bucket}/`], { env });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(ls.code).toBe(1);
    expect(ls.stderr).toMatch(
      new RegExp(
        `^E002: No S3 credentials found to list s3://${b.bucket}/: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`,
      ),
    );
    const file = path.join(home, 'a.txt');
    writeFileSync(file, 'a');
    const put = await runSluice(['storage', 'put', file, `s3://${b.bucket}/a.txt`], { env });
    expect(put.code).toBe(1);
    expect(put.stderr).toContain(`E002: No S3 credentials found to write s3://${b.bucket}/a.txt`);
    // The bucket, read with the test's own credentials, holds nothing.
    const listed = await b.client.send(new ListObjectsV2Command({ Bucket: b.bucket }));
    expect(listed.KeyCount).toBe(0);
  });

  it('the error is permanent: a caller retrying transient faults does not retry it', async () => {
    const b = await freshBucket('nocreds-lib');
    const saved = { ...process.env };
    try {
      Object.assign(process.env, noCredentials(tempDir('nocreds-lib-home')));
      const storage = createS3Storage({ bucket: b.bucket, endpoint: s3Endpoint(), maxAttempts: 1 });
      const error = await storage.get('x').catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('E002');
      expect(isTransient(error)).toBe(false);
    } finally {
      process.env = saved;
    }
  });
});
