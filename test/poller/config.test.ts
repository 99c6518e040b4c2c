import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.ts';
import { resolvePollerConfig } from '../../src/poller/config.ts';
import { scratchDirs } from './fixtures.ts';

const scratch = scratchDirs('poll-config');

describe('resolvePollerConfig', () => {
  it('accepts the seed environment names as aliases', () => {
    const cfg = resolvePollerConfig({
      env: {
        PULSE_S3_BUCKET: 'pulse-data',
        PULSE_S3_PREFIX: 'incoming/',
        PULSE_S3_PROCESSED_PREFIX: 'done/',
        PULSE_S3_POLL_INTERVAL: '30',
      },
    });
    expect(cfg).toMatchObject({
      source: 's3://pulse-data/incoming/',
      processedPrefix: 'done/',
      interval: 30_000,
      failedPrefix: 'failed/',
      minAge: 5000,
      concurrency: 32,
      jobName: 'ingest_and_score_signal',
      queue: 'sqlite:./sluice-queue.db',
    });
  });

  it('flags win over env, env over the config file, file over defaults', () => {
    const dir = scratch('poller-config');
    const file = path.join(dir, 'poller.yaml');
    writeFileSync(
      file,
      'poller:\n  source: ./from-file\n  concurrency: 4\n  minAge: 1s\n  jobName: from_file\n',
    );
    const cfg = resolvePollerConfig({
      file,
      env: { SLUICE_POLL_SOURCE: './from-env', SLUICE_POLL_MIN_AGE: '2s' },
      flags: { source: './from-flag', interval: '250ms' },
    });
    expect(cfg).toMatchObject({
      source: './from-flag',
      minAge: 2000,
      concurrency: 4,
      jobName: 'from_file',
      interval: 250,
    });
  });

  it('reads sizes as parseSize does and refuses a fraction of a byte or zero instead of rounding it', () => {
    const cfg = resolvePollerConfig({
      env: { SLUICE_POLL_SOURCE: './x' },
      flags: { maxObjectSize: '1.5GB', maxRecordSize: '64KiB' },
    });
    expect(cfg).toMatchObject({ maxObjectSize: 1.5 * 1024 ** 3, maxRecordSize: 64 * 1024 });
    for (const [value, message] of [
      ['1.1KB', /maxRecordSize = "1.1KB".*not a whole number of bytes/],
      ['0', /maxRecordSize = "0".*more than 0 bytes/],
      ['lots', /maxRecordSize = "lots".*Invalid size/],
    ] as const) {
      expect(() => resolvePollerConfig({ env: {}, flags: { source: './x', maxRecordSize: value } })).toThrow(
        message,
      );
    }
  });

  it('names the bad setting and value', () => {
    expect(() => resolvePollerConfig({ env: {}, flags: { source: './x', interval: 'soon' } })).toThrow(
      /interval = "soon"/,
    );
    expect(() => resolvePollerConfig({ env: {}, flags: { source: './x', concurrency: '0' } })).toThrow(
      ConfigurationError,
    );
    expect(() => resolvePollerConfig({ env: {} })).toThrow(/source/);
    expect(() => resolvePollerConfig({ env: {}, flags: { source: './x', jsonArray: 'rows' } })).toThrow(
      /jsonArray/,
    );
  });
});
