import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../src/config/schema.ts';
import type { SluiceError } from '../../src/errors.ts';
import { DataCatalog } from '../../src/pipeline/catalog.ts';
import { Lake } from '../../src/pipeline/lake.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { DataPromoter } from '../../src/pipeline/promoter.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import type { Storage } from '../../src/storage/types.ts';
import { freshBucket } from '../helpers/s3.ts';
import { project, seedCsv, seedProject, writeFile } from './helpers.ts';

/** Everything stored for an env (its data folder and its reserved folder), with content hashes. */
async function fingerprint(lake: Storage, env: Environment): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const prefix of [`${env}/`, `_sluice/${env}/`]) {
    const store = lake.scope(prefix);
    for (const k of await listKeys(store))
      out[prefix + k] = createHash('sha256')
        .update(await store.get(k))
        .digest('hex');
  }
  return out;
}

/** What a reader sees: every file of the current version, checked against the manifest's sha256. */
async function readerView(
  lake: Storage,
  env: Environment,
): Promise<{ version?: string; files: Record<string, string> }> {
  const l = new Lake(lake);
  const snap = await l.snapshot(env);
  const files: Record<string, string> = {};
  for (const f of snap.files) {
    const sha = createHash('sha256')
      .update(await lake.get(f.key))
      .digest('hex');
    if (f.sha256) expect(sha, `${f.path} of version ${snap.version}`).toBe(f.sha256);
    files[f.path] = sha;
  }
  return { ...(snap.version ? { version: snap.version } : {}), files };
}

for (const kind of ['fs', 's3'] as const) {
  describe(`DataPromoter on ${kind}`, async () => {
    const { dir, config, lake } = await project(kind, `promote-${kind}`);
    seedProject(dir);
    const pipeline = new Pipeline(config, { lake });
    expect(await pipeline.run('full')).toBe(true);
    const promoter = new DataPromoter(config, { lake });

    it('validatePromotion allows dev→qa and qa→prod only', () => {
      expect(promoter.validatePromotion('dev', 'qa')).toBe(true);
      expect(promoter.validatePromotion('qa', 'prod')).toBe(true);
      for (const [a, b] of [
        ['dev', 'prod'],
        ['qa', 'dev'],
        ['prod', 'qa'],
        ['dev', 'dev'],
        ['dev', 'staging'],
      ] as const) {
        expect(() => promoter.validatePromotion(a, b)).toThrowError(
          expect.objectContaining({ code: 'E005' }),
        );
      }
    });

    it('promote dev prod fails with E005 and changes nothing', async () => {
      const before = await fingerprint(lake, 'prod');
      const dev = await fingerprint(lake, 'dev');
      const error = (await promoter.promote('dev', 'prod').catch((e: unknown) => e)) as SluiceError;
      expect(error.code).toBe('E005');
      expect(error.message).toMatch(/dev → prod/);
      expect(await fingerprint(lake, 'prod')).toEqual(before);
      expect(await fingerprint(lake, 'dev')).toEqual(dev);
    });

    it('dry run reports and changes nothing; promote publishes a version readers resolve', async () => {
      const before = await fingerprint(lake, 'qa');
      const dry = await promoter.promote('dev', 'qa', { dryRun: true });
      expect(dry).toMatchObject({ dryRun: true, fileCount: 5, deleted: [], changed: [] });
      expect(dry.added).toHaveLength(5);
      expect(await fingerprint(lake, 'qa')).toEqual(before);

      const r = await promoter.promote('dev', 'qa');
      expect(r.fileCount).toBe(5);
      expect(r.totalSize).toBeGreaterThan(0);
      expect(r.version).toBeTruthy();
      const view = await readerView(lake, 'qa');
      expect(view.version).toBe(r.version);
      expect(view.files).toEqual((await readerView(lake, 'dev')).files);
      const catalog = new DataCatalog(config, { lake });
      expect(await catalog.listSources('qa')).toEqual(['sdg', 'wdi']);
      const meta = await catalog.getModelMetadata('combined', 'qa');
      expect(meta).toMatchObject({ rows: 83, description: 'Both sources' });
      // Nothing changed: a second promotion keeps the version.
      const again = await promoter.promote('dev', 'qa');
      expect(again.unchanged).toHaveLength(5);
      expect(again.version).toBe(r.version);
    });

    it('validation gates stop a promotion of a dataset that no longer matches its record', async () => {
      const devStore = new Lake(lake).env('dev');
      const good = await devStore.get('landing/wdi/WDI_DATA.parquet');
      const qaBefore = await fingerprint(lake, 'qa');
      await devStore.put('landing/wdi/WDI_DATA.parquet', Buffer.from('not parquet at all'));
      const error = (await promoter.promote('dev', 'qa').catch((e: unknown) => e)) as SluiceError;
      expect(error.code).toBe('E005');
      expect(error.message).toMatch(
        /Validation failed before promotion, nothing changed: dev\/landing\/wdi\/WDI_DATA.parquet: not readable/,
      );
      expect(await fingerprint(lake, 'qa')).toEqual(qaBefore);
      await devStore.put('landing/wdi/WDI_DATA.parquet', good, {
        metadata: { sha256: createHash('sha256').update(good).digest('hex') },
      });
    });

    it('qa → prod, then a changed dev → qa, and rollback restores the previous qa in one call', async () => {
      const p = await promoter.promote('qa', 'prod');
      expect((await readerView(lake, 'prod')).files).toEqual((await readerView(lake, 'qa')).files);
      expect(p.added).toHaveLength(5);

      const qaV1 = await readerView(lake, 'qa');
      writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(60));
      expect(await pipeline.run('full')).toBe(true);
      const r2 = await promoter.promote('dev', 'qa');
      expect(r2.changed.sort()).toEqual([
        'landing/sdg/SDG_DATA.parquet',
        'staging/combined.parquet',
        'staging/sdg_clean.parquet',
      ]);
      expect(r2.unchanged.sort()).toEqual(['landing/wdi/WDI_DATA.parquet', 'staging/wdi_clean.parquet']);
      const qaV2 = await readerView(lake, 'qa');
      expect(qaV2.version).toBe(r2.version);

      const rb = await promoter.rollback('qa');
      expect(rb.restored).toBe(r2.backupId);
      expect(await readerView(lake, 'qa')).toEqual(qaV1);
      // And forward again with the backup rollback made of v2.
      await promoter.rollback('qa', rb.backupOfCurrent);
      expect((await readerView(lake, 'qa')).files).toEqual(qaV2.files);
      await expect(promoter.rollback('qa', 'nope')).rejects.toMatchObject({ code: 'E005' });
    });
  });
}

describe('kill -9 in the middle of a promotion', async () => {
  const b = await freshBucket('promote-kill');
  for (const kind of ['fs', 's3'] as const) {
    it(`leaves readers on the old or the new version and rollback restores (${kind})`, async () => {
      const { dir, config, lake } = await project(kind === 'fs' ? 'fs' : 's3', `kill-${kind}`);
      const lakeRoot = config.lakeRoot;
      seedProject(dir);
      const pipeline = new Pipeline(config, { lake });
      expect(await pipeline.run('full')).toBe(true);
      const promoter = new DataPromoter(config, { lake });
      await promoter.promote('dev', 'qa');
      const v1 = await readerView(lake, 'qa');
      writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(70));
      writeFile(path.join(dir, 'data/raw/wdi/WDI_DATA.csv'), seedCsv(71));
      expect(await pipeline.run('full')).toBe(true);

      const child = spawn(process.execPath, ['src/cli/main.ts', 'promote', 'dev', 'qa'], {
        cwd: process.cwd(),
        env: { ...process.env, ...b.env, SLUICE_LAKE_ROOT: lakeRoot, SLUICE_TEST_PROMOTE_DELAY_MS: '400' },
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      // Wait until at least two files of the new version are copied, then kill without warning.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const copied = (await listKeys(lake.scope('_sluice/qa/'), { prefix: 'versions/' })).filter(
          (k) => !k.startsWith(`versions/${v1.version}/`),
        );
        if (copied.length >= 2) break;
        if (Date.now() > deadline) throw new Error('the promotion never started copying');
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      await exited;
      expect(await readerView(lake, 'qa')).toEqual(v1);

      const r = await promoter.promote('dev', 'qa');
      const v2 = await readerView(lake, 'qa');
      expect(v2.version).toBe(r.version);
      expect(v2.files).not.toEqual(v1.files);
      await promoter.rollback('qa');
      expect(await readerView(lake, 'qa')).toEqual(v1);
    });
  }
});

describe('prune', async () => {
  it('deletes only version files that neither the current version nor a kept backup names', async () => {
    const { dir, config, lake } = await project('fs', 'prune');
    seedProject(dir);
    const pipeline = new Pipeline(config, { lake });
    const promoter = new DataPromoter(config, { lake });
    const views: Awaited<ReturnType<typeof readerView>>[] = [];
    for (const rows of [10, 20, 30]) {
      writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(rows));
      expect(await pipeline.run('full')).toBe(true);
      await promoter.promote('dev', 'qa');
      views.push(await readerView(lake, 'qa'));
    }
    // Young files are protected (a promotion may be copying them right now).
    expect((await promoter.prune('qa', { keepBackups: 1, dryRun: true })).deletedFiles).toEqual([]);
    const dry = await promoter.prune('qa', { keepBackups: 1, minAgeMs: 0, dryRun: true });
    expect(dry.deletedFiles.length).toBeGreaterThan(0);
    const r = await promoter.prune('qa', { keepBackups: 1, minAgeMs: 0 });
    expect(r.deletedFiles).toEqual(dry.deletedFiles);
    expect(r.deletedBackups).toHaveLength(2);
    // The current version and the one kept backup (the previous version) still read whole.
    expect(await readerView(lake, 'qa')).toEqual(views[2]);
    await promoter.rollback('qa');
    expect(await readerView(lake, 'qa')).toEqual(views[1]);
  });
});

describe('DataPromoter when a source file changes during the promotion', async () => {
  const { dir, config, lake } = await project('fs', 'promote-race');
  seedProject(dir);
  expect(await new Pipeline(config, { lake }).run('full')).toBe(true);
  const promoter = new DataPromoter(config, { lake });

  it('fails with E005, publishes nothing, and readers stay on the old version', async () => {
    const plan = await promoter.promote('dev', 'qa', { dryRun: true });
    const paths = [...plan.added].sort();
    const first = paths[0] as string;
    const last = paths.at(-1) as string;
    expect(paths.length).toBeGreaterThan(1);
    const before = await readerView(lake, 'qa');
    process.env.SLUICE_TEST_PROMOTE_DELAY_MS = '150';
    try {
      // Once the first file is copied (not after a fixed time: planning and the validation gates
      // take longer than that on a loaded machine), a pipeline run rewrites the last one.
      let rewrite: Promise<unknown> | undefined;
      const running = promoter
        .promote('dev', 'qa', {
          onProgress: (p) => {
            // The copy loop's event (validation and publishing report as well).
            if (p.operation === 'promote dev→qa' && p.done === 1)
              rewrite ??= lake.get(`dev/${first}`).then((bytes) => lake.put(`dev/${last}`, bytes));
          },
        })
        .catch((e: unknown) => e);
      const error = (await running) as SluiceError;
      await rewrite;
      expect(error.code).toBe('E005');
      expect(error.message).toContain(`dev/${last} changed while it was being promoted`);
    } finally {
      delete process.env.SLUICE_TEST_PROMOTE_DELAY_MS;
    }
    expect(await readerView(lake, 'qa')).toEqual(before);
  });
});
