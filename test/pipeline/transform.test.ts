import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SluiceError } from '../../src/errors.ts';
import { DataIngester } from '../../src/pipeline/ingester.ts';
import { Lake } from '../../src/pipeline/lake.ts';
import { readLoadRecord } from '../../src/pipeline/load-records.ts';
import { Transformer } from '../../src/pipeline/transformer.ts';
import { project, seedProject, writeFile } from './helpers.ts';

for (const kind of ['fs', 's3'] as const) {
  describe(`Transformer on ${kind}`, async () => {
    const { dir, config, lake } = await project(kind, `transform-${kind}`);
    seedProject(dir);
    const ingester = new DataIngester(config, { lake });
    await ingester.ingestAll();
    await ingester.close();
    const transformer = new Transformer(config, { lake });

    it('runs models in dependency order into staging Parquet with records', async () => {
      const outcomes = await transformer.run();
      expect(outcomes.map((o) => [o.model, o.status])).toEqual([
        ['sdg_clean', 'ok'],
        ['wdi_clean', 'ok'],
        ['combined', 'ok'],
      ]);
      expect(outcomes[2]?.rows).toBe(40 + 43);
      const store = new Lake(lake).env('dev');
      const rec = await readLoadRecord(new Lake(lake).internal('dev'), 'staging/combined.parquet');
      expect(rec).toMatchObject({
        rows: 83,
        description: 'Both sources',
        dependsOn: ['sdg_clean', 'wdi_clean'],
      });
      expect(rec?.columns[0]).toEqual({ name: 'source', type: 'VARCHAR' });
      expect((await store.stat('staging/combined.parquet')).metadata.sha256).toBe(rec?.sha256);
    });

    it('a failing model raises E004 with its name and DuckDB message; downstream is skipped', async () => {
      writeFile(path.join(dir, 'models/wdi_clean.sql'), 'SELECT no_such_column FROM landing.wdi\n');
      const before = await new Lake(lake).env('dev').stat('staging/combined.parquet');
      const error = (await transformer.run().catch((e: unknown) => e)) as SluiceError;
      expect(error.code).toBe('E004');
      expect(error.message).toMatch(
        /^Model wdi_clean failed: .*no_such_column.*wdi_clean\.sql\); skipped downstream: combined$/,
      );
      const outcomes = error.context.outcomes as { model: string; status: string; because?: string }[];
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'failed', 'skipped']);
      expect(outcomes[2]?.because).toBe('wdi_clean');
      // The skipped model's previous output is untouched.
      const after = await new Lake(lake).env('dev').stat('staging/combined.parquet');
      expect(after.etag).toBe(before.etag);
      writeFile(path.join(dir, 'models/wdi_clean.sql'), 'SELECT * FROM landing.wdi\n');
    });

    it('a cycle is reported before anything runs', async () => {
      writeFile(path.join(dir, 'models/x.sql'), 'SELECT * FROM staging.y');
      writeFile(path.join(dir, 'models/y.sql'), 'SELECT * FROM staging.x');
      await expect(transformer.run()).rejects.toMatchObject({
        code: 'E004',
        message: expect.stringMatching(/cycle: x, y/),
      });
      const { rmSync } = await import('node:fs');
      rmSync(path.join(dir, 'models/x.sql'));
      rmSync(path.join(dir, 'models/y.sql'));
    });
  });
}
