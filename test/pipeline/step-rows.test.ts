import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { project, seedProject, writeFile } from './helpers.ts';

/**
 * Issue #18: the transform step's row total added every model's rows, so rows that one model
 * reads from another (combined = sdg_clean ∪ wdi_clean) were counted twice. The total is the rows
 * of the final models, those no other model reads; each model's own count is in the catalog.
 */
describe('the transform step counts each row once', { timeout: 120_000 }, async () => {
  const { dir } = await project('fs', 'step-rows');
  seedProject(dir); // sdg: 40 rows, wdi: 43; combined reads both
  writeFile(
    path.join(dir, 'sluice.config.yaml'),
    'env: dev\ndataDir: ./data\nmodelsDir: ./models\nlakeRoot: ./lake\n',
  );
  const config = path.join(dir, 'sluice.config.yaml');

  it('run and status show the rows of the final models', async () => {
    const run = await runSluice(['run', '--mode', 'full', '-c', config, '--json']);
    expect(run.stderr).toBe('');
    const record = JSON.parse(run.stdout);
    expect(record.steps.map((s: { step: string; files: number; rows: number; note?: string }) => s)).toEqual([
      expect.objectContaining({ step: 'ingest', files: 2, rows: 83 }),
      expect.objectContaining({
        step: 'transform',
        files: 3,
        rows: 83,
        note: 'rows of the final model: combined',
      }),
      expect.objectContaining({ step: 'upload', rows: 0 }),
    ]);
    const status = await runSluice(['status', '-c', config]);
    expect(status.stdout).toContain('ingest:ok(83 rows) transform:ok(83 rows) upload:skipped(0 rows)');
  });

  it('two final models: both count', async () => {
    writeFile(path.join(dir, 'models/sdg_years.sql'), 'SELECT DISTINCT year FROM staging.sdg_clean\n');
    const run = await runSluice(['run', '--mode', 'transform', '-c', config, '--json']);
    const transform = JSON.parse(run.stdout).steps[0];
    expect(transform).toMatchObject({
      files: 4,
      rows: 83 + 20,
      note: 'rows of the final models: combined, sdg_years',
    });
  });
});
