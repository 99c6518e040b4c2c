/**
 * A small demo lake for the dashboard's tests, on disk or on the run's s3rver: the demo project
 * (`writeDemoProject`, few indicators), a pipeline run and a promotion dev → qa, then a changed
 * raw file, a second run and a second promotion — so qa has two versions, a backup of nothing
 * (before its first promotion) and a backup of its first version to roll back to.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../src/config/config.ts';
import { DataPromoter, Pipeline, writeDemoProject } from '../../src/pipeline/index.ts';
import { freshBucket, s3Endpoint, TEST_CREDENTIALS } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

export interface DemoLake {
  dir: string;
  config: Config;
  /** qa's versions, first and second promotion. */
  versions: [string, string];
  /** Backups of qa: before the first promotion (empty) and of the first version. */
  backups: { empty: string; first: string };
}

export async function demoLake(kind: 'fs' | 's3', label: string): Promise<DemoLake> {
  const dir = tempDir(`dash-${label}`);
  await writeDemoProject(dir, 0.05);
  const lakeRoot = kind === 's3' ? (await freshBucket(label)).url('lake/') : path.join(dir, 'lake');
  const config = Config.load({
    env: {},
    overrides: {
      env: 'dev',
      username: 'tester',
      dataDir: path.join(dir, 'data'),
      modelsDir: path.join(dir, 'models'),
      lakeRoot,
      ...(kind === 's3'
        ? {
            s3Endpoint: s3Endpoint(),
            awsRegion: 'us-east-1',
            awsAccessKeyId: TEST_CREDENTIALS.accessKeyId,
            awsSecretAccessKey: TEST_CREDENTIALS.secretAccessKey,
          }
        : {}),
    },
  });
  const pipeline = new Pipeline(config);
  const promoter = new DataPromoter(config);
  const run1 = await pipeline.runDetailed('full');
  if (!run1.success) throw new Error(`demo run failed: ${JSON.stringify(run1.error)}`);
  const p1 = await promoter.promote('dev', 'qa');
  appendFileSync(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), 'SDG_900,KEN,2023,1.5\n');
  const run2 = await pipeline.runDetailed('full');
  if (!run2.success) throw new Error(`second demo run failed: ${JSON.stringify(run2.error)}`);
  const p2 = await promoter.promote('dev', 'qa');
  return {
    dir,
    config,
    versions: [p1.version as string, p2.version as string],
    backups: { empty: p1.backupId as string, first: p2.backupId as string },
  };
}
