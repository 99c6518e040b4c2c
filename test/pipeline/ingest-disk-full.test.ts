/**
 * ingest-csv on a real full disk (a small tmpfs holding its staging folder): the fault soak saw
 * DuckDB's "Could not write file …/out.parquet: No space left on device" reported as E003, a
 * schema problem with the user's CSV. It is E012 naming the file, and the same CSV loads once
 * there is room again.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataIngester } from '../../src/pipeline/ingester.ts';
import { useFullDisk } from '../helpers/full-disk.ts';
import { project } from './helpers.ts';

const disk = useFullDisk('ingest-full', '8m');

describe('ingest-csv on a full disk', () => {
  it('is E012 naming the file DuckDB could not write, not E003; the CSV loads once space is freed', async () => {
    const { dir, config, lake } = await project('fs', 'ingest-full');
    const csv = path.join(dir, 'data', 'raw', 'big.csv');
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i},${randomBytes(16).toString('hex')}`);
    writeFileSync(csv, `id,token\n${rows.join('\n')}\n`);
    const staging = path.join(disk.dir, 'tmp');
    mkdirSync(staging, { recursive: true });
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    const ingester = new DataIngester(config, { lake });
    try {
      // Room for the staging folder, not for the Parquet output (~600 KB of random tokens).
      expect(disk.fill(64 * 1024).code).toBe('ENOSPC');
      const refused = ingester.ingestCsv(csv, 'tokens');
      await expect(refused).rejects.toMatchObject({ code: 'E012' });
      await expect(refused).rejects.toThrow(/disk full writing .*out\.parquet/);
      disk.free();
      const loaded = await ingester.ingestCsv(csv, 'tokens');
      expect(loaded.rows).toBe(20_000);
    } finally {
      disk.free();
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await ingester.close();
    }
  }, 60_000);
});
