import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import { SluiceError } from '../../src/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('Config', () => {
  it('has the seed defaults and builds S3 paths per environment', () => {
    const config = Config.load({ env: {} });
    expect(config.env).toBe('dev');
    expect(config.awsRegion).toBe('us-east-1');
    expect(config.dataDir).toBe('./data');
    expect(config.getS3Path('landing', 'sdg/data.parquet')).toBe('dev/landing/sdg/data.parquet');
    expect(config.with({ env: 'qa' }).getS3Path('/staging/', '')).toBe('qa/staging');
  });

  it('layers file < environment < overrides and records where values came from', () => {
    const dir = tempDir('sluice-config');
    const file = path.join(dir, 'sluice.config.yaml');
    writeFileSync(file, 'env: qa\ns3Bucket: from-file\nawsRegion: eu-west-1\n');
    const config = Config.load({
      file,
      env: { S3_BUCKET: 'from-env' },
      overrides: { awsRegion: 'eu-central-1' },
    });
    expect(config.env).toBe('qa');
    expect(config.s3Bucket).toBe('from-env');
    expect(config.awsRegion).toBe('eu-central-1');
    expect(config.sources.s3Bucket).toBe('$S3_BUCKET');
    expect(config.sources.env).toBe(file);
  });

  it('reports every invalid field at once with E001 and the source', () => {
    try {
      Config.load({ env: { ENVIRONMENT: 'staging', S3_BUCKET: 'Bad_Bucket', AWS_REGION: 'Mars West' } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SluiceError);
      const err = e as SluiceError;
      expect(err.code).toBe('E001');
      expect(err.message).toMatch(/env \(from \$ENVIRONMENT\)/);
      expect(err.message).toMatch(/s3Bucket/);
      expect(err.message).toMatch(/awsRegion/);
    }
  });

  it('accepts the region names of AWS and of S3-compatible services', () => {
    for (const region of [
      'us-east-1',
      'us-gov-west-1',
      'cn-north-1',
      'auto',
      'nyc3',
      'fr-par',
      'us-west-004',
    ]) {
      expect(Config.load({ env: { AWS_REGION: region } }).awsRegion).toBe(region);
    }
    for (const bad of ['US-EAST-1', 'us east 1', '-auto', 'a'.repeat(40)]) {
      expect(() => Config.load({ env: { AWS_REGION: bad } }), bad).toThrow(/awsRegion/);
    }
  });

  it('validate() lists every problem and passes when directories exist', () => {
    const dir = tempDir('sluice-config');
    const config = Config.load({
      env: { DATA_DIR: path.join(dir, 'nope'), MODELS_DIR: path.join(dir, 'nomodels') },
    });
    expect(config.problems()).toHaveLength(2);
    expect(() => config.validate()).toThrow(/2 problem/);
    mkdirSync(path.join(dir, 'nope'));
    mkdirSync(path.join(dir, 'nomodels'));
    expect(config.validate()).toBe(true);
  });

  it('never prints a secret', () => {
    const config = Config.load({
      env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG' },
    });
    const text = JSON.stringify(config);
    expect(text).not.toContain('wJalrXUtnFEMI');
    expect(text).not.toContain('AKIAEXAMPLE');
  });

  it('rejects a malformed YAML file naming it', () => {
    const dir = tempDir('sluice-config');
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'env: [unclosed\n');
    expect(() => Config.load({ file, env: {} })).toThrow(
      new RegExp(`${file.replace(/[/.]/g, '\\$&')} is not valid YAML`),
    );
  });
});
