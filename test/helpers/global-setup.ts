import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { TEST_CACHE_DIR, TEST_TMPDIR } from '../../vitest.config.ts';
import { startS3rver } from './s3rver.ts';
import { leftoversIn, openRunTempDir } from './temp-leftovers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    s3Endpoint: string;
  }
}

/**
 * One s3rver for the whole run (every test file makes its own bucket, test/helpers/s3.ts), and one
 * temp folder for the whole run: TMPDIR of this process, of the workers (vitest.config.ts) and of
 * every process they start. At the end the run fails if a test left anything in it.
 */
export default async function setup(project: TestProject) {
  const restoreTmpdir = openRunTempDir(TEST_TMPDIR);
  const s3 = await startS3rver();
  project.provide('s3Endpoint', s3.endpoint);
  return async () => {
    await s3.stop();
    rmSync(TEST_CACHE_DIR, { recursive: true, force: true });
    const left = leftoversIn(TEST_TMPDIR);
    rmSync(TEST_TMPDIR, { recursive: true, force: true });
    restoreTmpdir();
    if (left.length > 0) {
      throw new Error(
        `Tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the run's temp folder (removed now; each test must remove what it creates, e.g. with tempDir() from test/helpers/tmp.ts):\n${left.map((l) => `  ${l}`).join('\n')}`,
      );
    }
  };
}
