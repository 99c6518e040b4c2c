import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { project, seedProject, writeFile } from './helpers.ts';

/**
 * Issue #18: `sluice run --mode upload` without a target printed its error three times: in the
 * step table, as an "operation failed" log line and as the command's error line. The message goes
 * to stderr once; the table keeps the step's error code.
 */
describe('a failed run prints its error once', { timeout: 60_000 }, async () => {
  const { dir } = await project('fs', 'run-error-once');
  seedProject(dir);
  const config = writeFile(
    path.join(dir, 'sluice.config.yaml'),
    'env: dev\ndataDir: ./data\nmodelsDir: ./models\nlakeRoot: ./lake\n',
  );
  const message = 'Nothing to upload to: set s3Bucket (S3_BUCKET) or PipelineOptions.uploadUrl';

  for (const format of ['json', 'human']) {
    it(`run --mode upload (logs: ${format})`, async () => {
      const r = await runSluice(['--log-format', format, 'run', '--mode', 'upload', '-c', config]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^E001: pipeline run \\d{8}T\\d{9}Z-[0-9a-f]{6} failed: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`,
        ),
      );
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^step +status +files +rows +size +seconds +note$/);
      expect(lines[1]).toMatch(/^upload +failed +0 +0 +0 B +\d+\.\d\d +E001$/);
      expect(`${r.stdout}${r.stderr}`.split(message)).toHaveLength(2);
    });
  }
});
