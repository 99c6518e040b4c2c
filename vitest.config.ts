import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * The run's own temp folder: the test workers and every process a test starts get it as TMPDIR,
 * so all the temp files of a run land here and nowhere else in the shared system temp dir. The
 * global teardown (test/helpers/global-setup.ts) fails the run if anything is left in it.
 */
export const TEST_TMPDIR = path.join(tmpdir(), `sluicetests-run-${process.pid}`);

/** Sync hash caches of the run (pipeline uploads sync with the default cache dir), not in ~/.cache. */
export const TEST_CACHE_DIR = path.join(TEST_TMPDIR, 'sync-cache');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores here: more workers only fight over them and over the one s3rver.
    maxWorkers: 2,
    env: {
      TZ: 'UTC',
      SLUICE_LOG_LEVEL: 'silent',
      SLUICE_CACHE_DIR: TEST_CACHE_DIR,
      TMPDIR: TEST_TMPDIR,
    },
    reporters: ['default'],
  },
});
