/**
 * The test suite's s3rver survives a put into a folder whose last object is being deleted (it
 * made the folder, s3rver's delete removed it as empty, the put's open failed with ENOENT on a
 * stream without an error handler, and the process exited: every later test of the run failed).
 * Its own s3rver, the real AWS SDK, the race run many times.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TEST_CREDENTIALS } from '../helpers/s3.ts';
import { startS3rver } from '../helpers/s3rver.ts';

describe('s3rver as the tests run it', () => {
  it('survives puts racing the delete of their folder’s last object; every put lands', async () => {
    const server = await startS3rver();
    let crash: string | undefined;
    void server.crashed.then((c) => {
      crash = `s3rver exited (${c.code ?? c.signal}): ${c.stderr.slice(-500)}`;
    });
    const s3 = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
    });
    onTestFinished(async () => {
      s3.destroy();
      await server.stop();
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'race' }));
    for (let round = 0; round < 300 && !crash; round++) {
      const dir = `d${round % 7}/sub`;
      await s3.send(new PutObjectCommand({ Bucket: 'race', Key: `${dir}/last`, Body: 'x' }));
      await Promise.all([
        s3.send(new DeleteObjectCommand({ Bucket: 'race', Key: `${dir}/last` })),
        s3.send(new PutObjectCommand({ Bucket: 'race', Key: `${dir}/next-${round}`, Body: `body ${round}` })),
      ]);
      const landed = await s3.send(new GetObjectCommand({ Bucket: 'race', Key: `${dir}/next-${round}` }));
      expect(await landed.Body?.transformToString()).toBe(`body ${round}`);
      await s3.send(new DeleteObjectCommand({ Bucket: 'race', Key: `${dir}/next-${round}` }));
    }
    expect(crash).toBeUndefined();
  }, 120_000);
});
