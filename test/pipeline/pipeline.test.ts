import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { project, seedProject, writeFile } from './helpers.ts';

describe('Pipeline', async () => {
  const { dir, config, lake } = await project('fs', 'pipeline');
  seedProject(dir);
  const b = await freshBucket('pipeline-upload');

  it('full run with upload syncs the env to the target; the next run uploads nothing', async () => {
    const pipeline = new Pipeline(config, { lake, uploadUrl: b.url(), storageOptions: s3Options() });
    const first = await pipeline.runDetailed('full');
    expect(first.success).toBe(true);
    expect(first.steps.find((s) => s.step === 'upload')).toMatchObject({ status: 'ok', files: 5 });
    const remote = openStorage(b.url(), s3Options());
    expect((await listKeys(remote)).sort()).toEqual([
      'dev/landing/sdg/SDG_DATA.parquet',
      'dev/landing/wdi/WDI_DATA.parquet',
      'dev/staging/combined.parquet',
      'dev/staging/sdg_clean.parquet',
      'dev/staging/wdi_clean.parquet',
    ]);
    // Ingest and transforms rewrite identical bytes: nothing to upload.
    const second = await pipeline.runDetailed('full');
    expect(second.steps.find((s) => s.step === 'upload')).toMatchObject({ status: 'ok', files: 0 });
    const upload = await pipeline.runDetailed('upload');
    expect(upload.steps.map((s) => s.step)).toEqual(['upload']);
  });

  it('status is persisted: a new Pipeline sees the runs, latest first, with per-step numbers', async () => {
    const status = await new Pipeline(config, { lake }).getStatus();
    expect(status.runs.length).toBe(3);
    expect(status.lastRun?.mode).toBe('upload');
    const full = status.runs[2];
    expect(full?.steps.map((s) => s.step)).toEqual(['ingest', 'transform', 'upload']);
    expect(full?.steps[0]).toMatchObject({ status: 'ok', files: 2, rows: 83 });
    expect(full?.steps[0]?.bytes).toBeGreaterThan(0);
    expect(full?.steps[1]?.durationMs).toBeGreaterThan(0);
  });

  it('a bad CSV fails the ingest step, skips the rest and is recorded with its E003', async () => {
    const bad = writeFile(
      path.join(dir, 'data/raw/sdg/BAD.csv'),
      'indicator_id,country_id,year,value\nA,B,x,1\n',
    );
    const pipeline = new Pipeline(config, { lake });
    expect(await pipeline.run('full')).toBe(false);
    const last = (await pipeline.getStatus()).lastRun;
    expect(last?.success).toBe(false);
    expect(last?.steps.map((s) => s.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(last?.steps[0]?.errors[0]).toContain(`E003: ${bad} row 2 column year`);
    expect(last?.steps[0]?.files).toBe(2);
    rmSync(bad);
  });

  it('a failing model fails the transform step with E004 and the skipped models', async () => {
    writeFile(path.join(dir, 'models/sdg_clean.sql'), 'SELECT nope FROM landing.sdg');
    const pipeline = new Pipeline(config, { lake });
    const run = await pipeline.runDetailed('transform');
    expect(run.success).toBe(false);
    expect(run.steps[0]?.errors).toEqual([
      expect.stringMatching(/^E004: model sdg_clean: .*nope/),
      'model combined skipped (upstream sdg_clean failed)',
    ]);
    writeFile(path.join(dir, 'models/sdg_clean.sql'), 'SELECT * FROM landing.sdg WHERE value IS NOT NULL');
  });

  it('validateEnvironment reports every problem', async () => {
    const pipeline = new Pipeline(config, { lake });
    expect(await pipeline.validateEnvironment()).toBe(true);
    writeFile(path.join(dir, 'models/loop_a.sql'), 'SELECT * FROM staging.loop_b');
    writeFile(path.join(dir, 'models/loop_b.sql'), 'SELECT * FROM staging.loop_a');
    const broken = new Pipeline(config.with({ dataDir: path.join(dir, 'missing') }), { lake });
    const problems = await broken.environmentProblems();
    expect(problems).toEqual([
      expect.stringMatching(/^dataDir: directory .*missing does not exist/),
      expect.stringMatching(/^models: Models depend on each other in a cycle: loop_a, loop_b/),
    ]);
    expect(await broken.validateEnvironment()).toBe(false);
    rmSync(path.join(dir, 'models/loop_a.sql'));
    rmSync(path.join(dir, 'models/loop_b.sql'));
  });

  it('upload mode without a target is a configuration error', async () => {
    const run = await new Pipeline(config, { lake }).runDetailed('upload');
    expect(run.error?.code).toBe('E001');
  });
});

describe('transient failures are retried', async () => {
  const { dir, config, lake } = await project('fs', 'pipeline-retry');
  seedProject(dir);

  it('a network error on a put or a listing reruns the file or the step; the run succeeds', async () => {
    const { NetworkError } = await import('../../src/errors.ts');
    const { scopeStorage } = await import('../../src/storage/scoped.ts');
    let putFailures = 2;
    let listFailures = 1;
    const flaky: typeof lake = {
      ...lake,
      put: async (...args: Parameters<typeof lake.put>) => {
        if (putFailures > 0) {
          putFailures -= 1;
          throw new NetworkError('connection reset (test)');
        }
        return lake.put(...args);
      },
      list: (options) => {
        if (listFailures > 0 && options?.prefix === 'dev/landing/') {
          listFailures -= 1;
          throw new NetworkError('listing timed out (test)');
        }
        return lake.list(options);
      },
      scope: (prefix: string) => scopeStorage(flaky, prefix),
    };
    const pipeline = new Pipeline(config, { lake: flaky, retryDelayMs: 1 });
    const run = await pipeline.runDetailed('full');
    expect(run.success, JSON.stringify(run.steps)).toBe(true);
    expect(putFailures).toBe(0);
    expect(listFailures).toBe(0);
    expect(pipeline.errorHandler.handled.map((h) => [h.code, h.operation, h.recovered])).toEqual([
      ['E007', 'transform', true],
    ]);
  });
});
