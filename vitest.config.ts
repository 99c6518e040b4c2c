import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/** Sync hash caches of the run (pipeline uploads sync with the default cache dir), not in ~/.cache. */
export const TEST_CACHE_DIR = path.join(tmpdir(), `sluice-test-cache-${process.pid}`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores here: more workers only fight over them and over the one s3rver.
    maxWorkers: 2,
    env: { TZ: 'UTC', SLUICE_LOG_LEVEL: 'silent', SLUICE_CACHE_DIR: TEST_CACHE_DIR },
    reporters: ['default'],
  },
});
