/**
 * An open lake (issue #20): a reader that globs an environment folder with DuckDB sees exactly
 * the current data — after promote, a second promote, and rollback — with the row counts and sums
 * sluice's own catalog reports; nothing of sluice's own (versions, manifests, records) sits in an
 * environment folder; an `aws s3 sync` of one uploads only data; a lake in the old layout is moved
 * on first use; plain paths left stale by a killed promotion are repaired by the next one.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../src/config/schema.ts';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { DataCatalog } from '../../src/pipeline/catalog.ts';
import { Lake } from '../../src/pipeline/lake.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { DataPromoter } from '../../src/pipeline/promoter.ts';
import { openStorage } from '../../src/storage/open.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { project, seedCsv, seedProject, writeFile } from './helpers.ts';

const run = promisify(execFile);

/** What a DuckDB glob over `<lake>/<env>/**` sees: files, and rows and value sums per dataset. */
async function globView(engine: Engine, lakeDir: string, env: Environment) {
  const root = path.join(lakeDir, env);
  const all = (
    await engine.query<{ file: string }>(`SELECT file FROM glob(${quoteLiteral(`${root}/**`)})`)
  ).map((r) => path.relative(root, r.file));
  const json = await engine.query<{ file: string }>(
    `SELECT file FROM glob(${quoteLiteral(`${root}/**/*.json`)})`,
  );
  const per = await engine.query<{ f: string; n: bigint }>(
    `SELECT filename AS f, count(*) AS n FROM read_parquet(${quoteLiteral(`${root}/**/*.parquet`)}, filename=true, union_by_name=true) GROUP BY 1 ORDER BY 1`,
  );
  return {
    files: all.sort(),
    json: json.length,
    rows: Object.fromEntries(per.map((r) => [path.relative(root, r.f), Number(r.n)])),
  };
}

/** What sluice's catalog says is current: rows per dataset path. */
async function catalogView(catalog: DataCatalog, env: Environment): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of await catalog.listDatasets(env)) out[d.path] = Number(d.rows);
  return out;
}

describe('reading the lake from outside tools', { timeout: 180_000 }, () => {
  it('a glob over an environment sees exactly its current data through promote, promote and rollback', async () => {
    const { dir, config, lake } = await project('fs', 'open-lake');
    const lakeDir = path.join(dir, 'lake');
    seedProject(dir);
    const pipeline = new Pipeline(config, { lake });
    const promoter = new DataPromoter(config, { lake });
    const catalog = new DataCatalog(config, { lake });
    const engine = await Engine.create();
    try {
      expect(await pipeline.run('full')).toBe(true);
      await promoter.promote('dev', 'qa');
      const first = await globView(engine, lakeDir, 'qa');
      expect(first.json).toBe(0);
      expect(first.files.every((f) => f.endsWith('.parquet'))).toBe(true);
      expect(first.rows).toEqual(await catalogView(catalog, 'qa'));
      expect(first.rows['landing/sdg/SDG_DATA.parquet']).toBe(40);

      // A second version: more rows in dev, promoted; the glob counts each row once.
      writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(90));
      expect(await pipeline.run('full')).toBe(true);
      await promoter.promote('dev', 'qa');
      const second = await globView(engine, lakeDir, 'qa');
      expect(second.rows['landing/sdg/SDG_DATA.parquet']).toBe(90);
      expect(second.rows).toEqual(await catalogView(catalog, 'qa'));
      expect(second.json).toBe(0);

      // Rollback: the glob sees the first version again, and only it.
      const back = await promoter.rollback('qa');
      expect(back.files).toBeGreaterThan(0);
      const rolled = await globView(engine, lakeDir, 'qa');
      expect(rolled.rows).toEqual(first.rows);
      expect(rolled.rows).toEqual(await catalogView(catalog, 'qa'));

      // sluice's own files are all under the reserved folder.
      expect(readdirSync(path.join(lakeDir, 'qa')).sort()).toEqual(['landing', 'staging']);
      expect(readdirSync(path.join(lakeDir, '_sluice', 'qa')).sort()).toEqual(
        expect.arrayContaining(['backups', 'manifest.json', 'promotions', 'versions']),
      );

      // A promotion that changes nothing makes no version and no backup.
      const backups = (await promoter.listBackups('qa')).length;
      await promoter.promote('dev', 'qa');
      const same = await promoter.promote('dev', 'qa');
      expect(same.backupId).toBeUndefined();
      expect((await promoter.listBackups('qa')).length).toBe(backups + 1);
    } finally {
      await engine.close();
    }
  });

  it('plain paths a killed promotion left stale are repaired by the next promotion', async () => {
    const { dir, config, lake } = await project('fs', 'open-lake-repair');
    seedProject(dir);
    expect(await new Pipeline(config, { lake }).run('full')).toBe(true);
    const promoter = new DataPromoter(config, { lake });
    await promoter.promote('dev', 'qa');
    const plain = path.join(dir, 'lake', 'qa', 'landing', 'sdg', 'SDG_DATA.parquet');
    rmSync(plain); // as if killed between publishing the manifest and copying this file
    writeFile(path.join(dir, 'lake', 'qa', 'staging', 'stale.parquet'), 'old');
    const again = await promoter.promote('dev', 'qa');
    expect(again.added).toEqual([]);
    expect(existsSync(plain)).toBe(true);
    expect(existsSync(path.join(dir, 'lake', 'qa', 'staging', 'stale.parquet'))).toBe(false);
  });

  it('an old-layout lake is moved into _sluice/ on first use, with its versions and backups', async () => {
    const lakeDir = tempDir('old-lake');
    const root = openStorage(lakeDir);
    const parquet = Buffer.from('PAR1-not-really');
    await root.put('qa/_versions/v1/landing/a/x.parquet', parquet);
    const manifest = {
      version: 'v1',
      createdAt: '2026-01-01T00:00:00Z',
      files: [{ path: 'landing/a/x.parquet', key: '_versions/v1/landing/a/x.parquet', size: parquet.length }],
    };
    await root.put('qa/_manifest.json', JSON.stringify(manifest));
    await root.put('qa/_backups/b0.json', JSON.stringify({ ...manifest, version: 'b0', files: [] }));
    await root.put('qa/_meta/promotions/v1.json', '{}');
    const l = new Lake(root);
    const snap = await l.snapshot('qa');
    expect(snap.files).toEqual([{ ...manifest.files[0], key: '_sluice/qa/versions/v1/landing/a/x.parquet' }]);
    expect((await listKeys(root.scope('qa/'))).sort()).toEqual(['landing/a/x.parquet']);
    expect((await listKeys(root.scope('_sluice/qa/'))).sort()).toEqual([
      'backups/b0.json',
      'manifest.json',
      'promotions/v1.json',
      'versions/v1/landing/a/x.parquet',
    ]);
    expect((await root.get('qa/landing/a/x.parquet')).equals(parquet)).toBe(true);
  });

  it('an aws s3 sync of an environment folder uploads only data', async () => {
    const { dir, config, lake } = await project('fs', 'open-lake-aws');
    seedProject(dir);
    expect(await new Pipeline(config, { lake }).run('full')).toBe(true);
    await new DataPromoter(config, { lake }).promote('dev', 'qa');
    const b = await freshBucket('open-lake');
    await run(
      'aws',
      [
        's3',
        'sync',
        path.join(dir, 'lake', 'qa'),
        `s3://${b.bucket}/qa/`,
        '--endpoint-url',
        b.endpoint,
        '--only-show-errors',
      ],
      { env: { ...process.env, ...b.env } },
    );
    const uploaded = await listKeys(
      openStorage(`s3://${b.bucket}/`, {
        s3: {
          endpoint: b.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        },
      }),
    );
    expect(uploaded.length).toBeGreaterThan(0);
    expect(uploaded.filter((k) => !/^qa\/(landing|staging)\/.+\.parquet$/.test(k))).toEqual([]);
  });
});
