import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores here: more workers only fight over them and over the one s3rver.
    maxWorkers: 2,
    env: { TZ: 'UTC', SLUICE_LOG_LEVEL: 'silent' },
    reporters: ['default'],
  },
});
