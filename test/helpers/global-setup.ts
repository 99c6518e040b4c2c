import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { TEST_CACHE_DIR } from '../../vitest.config.ts';
import { startS3rver } from './s3rver.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Endpoint: string;
  }
}

/** One s3rver for the whole run; every test file makes its own bucket (test/helpers/s3.ts). */
export default async function setup(project: TestProject) {
  const s3 = await startS3rver();
  project.provide('s3Endpoint', s3.endpoint);
  return async () => {
    await s3.stop();
    rmSync(TEST_CACHE_DIR, { recursive: true, force: true });
  };
}
