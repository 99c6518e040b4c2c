import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/duckdb.ts';
import { DataWriter } from '../../src/writer/index.ts';
import { ageKeygen, requireAgeCli } from '../crypto/helpers.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('DataWriter on S3 (s3rver)', () => {
  it('writes partitioned encrypted Parquet, CSV and JSON arrays to a bucket; age decrypts what was stored', async () => {
    requireAgeCli();
    const dir = tempDir('writer-s3');
    const key = ageKeygen(dir);
    const bucket = await freshBucket('writer');
    const writer = new DataWriter({ taskDir: bucket.url('task-1/'), storageOptions: s3Options() });
    const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, kind: i % 2 ? 'odd' : 'even', v: i * 1.5 }));

    const csv = await writer.writeDataframe(rows, 'numbers', { format: 'csv' });
    expect(csv.location).toBe(`s3://${bucket.bucket}/task-1/output/numbers.csv`);
    const object = await bucket.client.send(
      new GetObjectCommand({ Bucket: bucket.bucket, Key: 'task-1/output/numbers.csv' }),
    );
    const body = Buffer.from(await object.Body!.transformToByteArray());
    expect(body.length).toBe(csv.sizeBytes);
    expect(body.toString().split('\n')[0]).toBe('id,kind,v');

    const parts = await writer.writeDataframe(rows, 'parts', {
      format: 'parquet',
      partitionBy: 'kind',
      encryption: { recipients: [key.recipient] },
    });
    expect(parts.files?.map((f) => f.path)).toEqual([
      'output/parts/kind=even/part-0.parquet.age',
      'output/parts/kind=odd/part-0.parquet.age',
    ]);
    const engine = await Engine.create();
    let total = 0;
    for (const file of parts.files ?? []) {
      const got = await bucket.client.send(
        new GetObjectCommand({ Bucket: bucket.bucket, Key: `task-1/${file.path}` }),
      );
      const sealed = path.join(dir, path.basename(path.dirname(file.path)));
      writeFileSync(sealed, Buffer.from(await got.Body!.transformToByteArray()));
      execFileSync('age', ['-d', '-i', key.file, '-o', `${sealed}.parquet`, sealed]);
      const [row] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM '${sealed}.parquet'`);
      total += Number(row?.n);
    }
    expect(total).toBe(100);
    await engine.close();

    await Promise.all([1, 2, 3, 4, 5].map((i) => writer.appendToJsonArray({ i }, 'log')));
    const log = JSON.parse((await writer.readOutput('log.json')).toString()) as { i: number }[];
    expect(log.map((x) => x.i).sort()).toEqual([1, 2, 3, 4, 5]);
    await writer.mergeJsonObjects({ a: { b: 1 } }, 'state');
    await writer.mergeJsonObjects({ a: { c: 2 } }, 'state');
    expect(JSON.parse((await writer.readOutput('state.json')).toString())).toEqual({ a: { b: 1, c: 2 } });

    const listing = await bucket.client.send(
      new ListObjectsV2Command({ Bucket: bucket.bucket, Prefix: 'task-1/' }),
    );
    expect(listing.Contents?.every((o) => !o.Key?.includes('.lock'))).toBe(true);
    await writer.close();
  });
});
