/**
 * Content types from extensions (issue #20): every put and sync to S3 stores the type of the
 * file's extension when the caller gives none (they were all application/octet-stream); a type
 * the caller gives wins. Checked with HeadObject through the real AWS SDK against s3rver.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { contentTypeFor } from '../../src/storage/content-types.ts';
import { runSluice } from '../helpers/cli.ts';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const FILES: Record<string, string> = {
  'a.csv': 'text/csv; charset=utf-8',
  'b.json': 'application/json',
  'c.jsonl': 'application/x-ndjson',
  'd.parquet': 'application/vnd.apache.parquet',
  'e.csv.age': 'application/x-age-encryption',
  'f.png': 'image/png',
  'g.svg': 'image/svg+xml',
  'h.csv.gz': 'application/gzip',
  noext: 'application/octet-stream',
};

describe('content types by extension', { timeout: 120_000 }, () => {
  it('maps extensions case-insensitively; unknown is octet-stream', () => {
    expect(contentTypeFor('x/Y.PARQUET')).toBe('application/vnd.apache.parquet');
    expect(contentTypeFor('.hidden')).toBe('application/octet-stream');
    expect(contentTypeFor('dir.v2/file')).toBe('application/octet-stream');
  });

  it('sync and storage put to S3 store the extension’s type', async () => {
    const b = await freshBucket('ctypes');
    const bucket = b.bucket;
    const dir = tempDir('ctypes');
    const src = path.join(dir, 'src');
    mkdirSync(src);
    for (const name of Object.keys(FILES)) writeFileSync(path.join(src, name), 'x');
    const env = b.env;
    const sync = await runSluice(['sync', src, `s3://${bucket}/synced/`], { env });
    expect(sync.code, sync.stderr).toBe(0);
    const put = await runSluice(['storage', 'put', path.join(src, 'a.csv'), `s3://${bucket}/put/a.csv`], {
      env,
    });
    expect(put.code, put.stderr).toBe(0);
    for (const [name, type] of Object.entries(FILES)) {
      const head = await b.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `synced/${name}` }));
      expect(head.ContentType, name).toBe(type);
    }
    const head = await b.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'put/a.csv' }));
    expect(head.ContentType).toBe('text/csv; charset=utf-8');
  });
});
