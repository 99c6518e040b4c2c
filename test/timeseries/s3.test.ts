import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { type StoredPoint, TimeSeriesStore } from '../../src/timeseries/index.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

async function all(s: TimeSeriesStore, v: string): Promise<StoredPoint[]> {
  const out: StoredPoint[] = [];
  for await (const p of s.query(v)) out.push(p);
  return out;
}

describe('segments on S3, log on local disk', () => {
  it('compacts to S3, recovers after reopen, and serves a read-only reader', async () => {
    const b = await freshBucket('ts-s3');
    const url = b.url('ts/');
    const walDir = path.join(tempDir('ts-s3-wal'), 'wal');
    const options = { walDir, storage: s3Options(), compactIntervalMs: 0, partitionMs: 3_600_000 };
    const t0 = Date.UTC(2024, 0, 1);
    const points = Array.from({ length: 500 }, (_, i) => ({
      variable: `v${i % 3}`,
      timestamp: t0 + i * 60_000,
      value: i,
      metadata: { i: i % 5 },
    }));
    const w = await TimeSeriesStore.open(url, options);
    await w.storeDataPoints(points.slice(0, 300));
    await w.compact();
    await w.storeDataPoints(points.slice(300));
    const reader = await TimeSeriesStore.open(url, { ...options, readOnly: true });
    try {
      expect((await all(reader, 'v0')).length).toBe(167);
      await w.compact();
      expect((await all(reader, 'v0')).length).toBe(167);
      await w.close();
      const listed = await b.client.send(new ListObjectsV2Command({ Bucket: b.bucket, Prefix: 'ts/' }));
      const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
      expect(keys).toContain('ts/manifest.json');
      expect(keys.filter((k) => k.endsWith('.parquet')).length).toBeGreaterThan(3);
      expect(keys.every((k) => !k.includes('wal'))).toBe(true);
      const again = await TimeSeriesStore.open(url, options);
      try {
        expect((await all(again, 'v1')).map((p) => p.value)).toEqual(
          points.filter((p) => p.variable === 'v1').map((p) => p.value),
        );
        expect((await again.aggregate(['v2'], { every: '1d', fn: 'count' }))[0]?.value).toBe(166);
        expect((await again.stats()).segmentPoints).toBe(500);
      } finally {
        await again.close();
      }
    } finally {
      await reader.close();
      await w.close();
    }
  }, 60_000);
});
