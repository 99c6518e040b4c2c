/**
 * The usage examples of the OSAA pipeline API reference (seeds/osaa-pipeline-api.md), in
 * TypeScript, on local disk and on s3rver.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import { NetworkError, ValidationError } from '../../src/errors.ts';
import { getLogger } from '../../src/logging/logger.ts';
import { DataCatalog } from '../../src/pipeline/catalog.ts';
import { ErrorHandler } from '../../src/pipeline/error-handler.ts';
import { DataIngester } from '../../src/pipeline/ingester.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { DataPromoter } from '../../src/pipeline/promoter.ts';
import { S3Synchronizer } from '../../src/sync/synchronizer.ts';
import { formatBytes, measureTime, withRetry } from '../../src/util/index.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { project, seedCsv, seedProject, writeFile } from './helpers.ts';

describe('seed: Config', () => {
  it('get_s3_path("landing", "sdg/data.parquet") → dev/landing/sdg/data.parquet', () => {
    const config = Config.load({ env: {} });
    expect(config.getS3Path('landing', 'sdg/data.parquet')).toBe('dev/landing/sdg/data.parquet');
    expect(config.with({ env: 'qa' }).getS3Path('landing', 'data.parquet')).toBe('qa/landing/data.parquet');
  });

  it('utilities: retry, measure_time, format_bytes, get_logger', async () => {
    let calls = 0;
    const upload = withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw new NetworkError('flaky');
        return 'ok';
      },
      { maxAttempts: 5, delayMs: 1 },
    );
    expect(await upload()).toBe('ok');
    const timed = await measureTime(async () => 42);
    expect(timed.result).toBe(42);
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GB');
    expect(typeof getLogger().info).toBe('function');
  });
});

for (const kind of ['fs', 's3'] as const) {
  describe(`seed usage examples on ${kind}`, async () => {
    const { dir, config, lake } = await project(kind, `seed-${kind}`);
    seedProject(dir);
    writeFile(path.join(dir, 'data/raw/opri/OPRI_DATA.csv'), seedCsv(12));
    const opts = kind === 's3' ? { lake, storageOptions: s3Options() } : { lake };

    it('Complete Pipeline Run: validate_environment, run(mode="full")', async () => {
      const pipeline = new Pipeline(config, opts);
      expect(await pipeline.validateEnvironment()).toBe(true);
      expect(await pipeline.run('full')).toBe(true);
      const status = await pipeline.getStatus();
      expect(status.lastRun?.success).toBe(true);
      expect(status.lastRun?.steps.map((s) => [s.step, s.status])).toEqual([
        ['ingest', 'ok'],
        ['transform', 'ok'],
        ['upload', 'skipped'],
      ]);
      // The seed's integration test passes mode="test", which is not a mode: a typed error.
      await expect(pipeline.run('test')).rejects.toBeInstanceOf(ValidationError);
    });

    it('DataCatalog: list_sources, get_source_path, get_model_metadata', async () => {
      const catalog = new DataCatalog(config, opts);
      expect(await catalog.listSources()).toEqual(['opri', 'sdg', 'wdi']);
      expect(await catalog.getSourcePath('sdg', 'parquet')).toBe(
        `${lake.url.replace(/\/$/, '')}/dev/landing/sdg/SDG_DATA.parquet`,
      );
      const meta = await catalog.getModelMetadata('combined');
      expect(meta).toMatchObject({ description: 'Both sources', rows: 83 });
      expect(meta.columns.map((c) => c.name)).toEqual([
        'source',
        'indicator_id',
        'country_id',
        'year',
        'value',
      ]);
      expect(meta.lastUpdated).toMatch(/^\d{4}-/);
    });

    it('Custom Data Ingestion: Date, String, String, Float64', async () => {
      const file = writeFile(
        path.join(dir, 'data/custom/metrics.csv'),
        'date,country,metric,value\n2024-01-01,KEN,gdp,1.5\n2024-01-02,NGA,gdp,2.25\n',
      );
      const ingester = new DataIngester(config, opts);
      const schema = { date: 'Date', country: 'String', metric: 'String', value: 'Float64' };
      const result = await ingester.ingestCsv(file, 'custom_metrics', schema);
      await ingester.close();
      expect(result).toMatchObject({ rows: 2, key: 'dev/landing/custom_metrics/metrics.parquet' });
    });

    it('Environment Promotion with Validation: dev→prod refused, backup, qa→prod', async () => {
      const promoter = new DataPromoter(config, opts);
      expect(() => promoter.validatePromotion('dev', 'prod')).toThrowError(/Cannot promote dev → prod/);
      await promoter.promote('dev', 'qa');
      const backup = await promoter.createBackup('qa');
      expect(await promoter.listBackups('qa')).toContain(backup);
      const dry = await promoter.promote('qa', 'prod', { dryRun: true });
      expect(dry.fileCount).toBe(7);
      const result = await promoter.promote('qa', 'prod', { dryRun: false });
      expect(result).toMatchObject({ fileCount: 7, dryRun: false });
      expect(result.totalSize).toBeGreaterThan(0);
    });

    it('S3Synchronizer: sync_to_s3("data/staging", "dev/staging", exclude=["*.tmp", "*.log"])', async () => {
      const b = await freshBucket(`seed-sync-${kind}`);
      const local = path.join(dir, 'data/staging');
      writeFile(path.join(local, 'a.parquet'), 'a');
      writeFile(path.join(local, 'b.tmp'), 'b');
      writeFile(path.join(local, 'x/c.log'), 'c');
      const cfg = config.with({ s3Bucket: b.bucket });
      const syncer = new S3Synchronizer(cfg, { storageOptions: s3Options() });
      const count = await syncer.syncToS3(local, 'dev/staging', { exclude: ['*.tmp', '*.log'] });
      expect(count).toBe(1);
      expect(await syncer.calculateDiff(local, 'dev/staging', { exclude: ['*.tmp', '*.log'] })).toEqual({
        localOnly: [],
        s3Only: [],
        modified: [],
      });
    });
  });
}

describe('seed: ErrorHandler', () => {
  it('recovers transient errors by retrying and reports the rest as not recovered', async () => {
    const handler = new ErrorHandler({ retry: { maxAttempts: 3, delayMs: 1 } });
    let attempts = 0;
    const recovered = await handler.handleError(new NetworkError('connection reset'), {
      operation: 'data_processing',
      file: 'data.csv',
      retry: async () => {
        attempts += 1;
        if (attempts < 2) throw new NetworkError('again');
      },
    });
    expect(recovered).toBe(true);
    expect(
      await handler.handleError(new Error('bad data'), { operation: 'data_processing', file: 'data.csv' }),
    ).toBe(false);
    expect(handler.handled.map((h) => [h.code, h.recovered])).toEqual([
      ['E007', true],
      ['E099', false],
    ]);
    await expect(
      handler.run('x', async () => Promise.reject(new ValidationError('no'))),
    ).rejects.toMatchObject({ code: 'E020' });
  });
});
