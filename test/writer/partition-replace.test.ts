/**
 * Outputs replace cleanly (issue #20): rewriting a partitioned output with fewer partitions
 * leaves exactly the new partitions — no stale files and no empty folders — so a DuckDB glob
 * with hive partitioning reads exactly what the last write wrote.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { DataWriter } from '../../src/writer/data-writer.ts';
import { tempDir } from '../helpers/tmp.ts';

function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)) + (e.isDirectory() ? '/' : ''))
    .sort();
}

describe('partitioned output rewritten with fewer partitions', () => {
  it('keeps exactly the new partitions; a hive glob reads the new rows only', async () => {
    const dir = tempDir('partition-replace');
    const writer = new DataWriter({ taskDir: dir });
    try {
      const rows = (regions: string[]) => regions.map((region, i) => ({ region, v: i + 1 }));
      await writer.writeDataframe(rows(['a', 'b', 'c']), 'p', { format: 'parquet', partitionBy: 'region' });
      const out = path.join(dir, 'output', 'p');
      expect(tree(out).filter((p) => p.endsWith('/') && p.startsWith('region='))).toEqual([
        'region=a/',
        'region=b/',
        'region=c/',
      ]);
      await writer.writeDataframe(rows(['a']), 'p', { format: 'parquet', partitionBy: 'region' });
      expect(tree(out)).toEqual(['region=a/', 'region=a/part-0.parquet']);
      const engine = await Engine.create();
      try {
        const read = await engine.query<{ n: bigint; regions: string }>(
          `SELECT count(*) AS n, string_agg(DISTINCT region, ',') AS regions FROM read_parquet(${quoteLiteral(`${out}/**/*.parquet`)}, hive_partitioning=true)`,
        );
        expect(read).toEqual([{ n: 1n, regions: 'a' }]);
      } finally {
        await engine.close();
      }
    } finally {
      await writer.close();
    }
  });
});
