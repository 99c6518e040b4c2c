/**
 * The pipeline's lineage records beyond the demo (#19): on local disk and on S3 a run and a
 * promotion record every file with its inputs, and `lineageOf` of a storage URL walks to the raw
 * CSVs and the models; failures abort their intents (a refused CSV, a publish that fails and what
 * was built from it, a promotion its gates refuse) and leave nothing `verify` counts as corrupt;
 * prune and rollback record what they remove and restore; the switch is read from file and env.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import {
  type LineageNode,
  lineageOf,
  lineageUrl,
  outputUrl,
  readLineage,
  verifyLineage,
} from '../../src/lineage/index.ts';
import { DataIngester } from '../../src/pipeline/ingester.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { DataPromoter } from '../../src/pipeline/promoter.ts';
import { Transformer } from '../../src/pipeline/transformer.ts';
import { scopeStorage } from '../../src/storage/scoped.ts';
import type { Storage } from '../../src/storage/types.ts';
import { s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { project, SEED_SCHEMA, seedCsv, seedProject, writeFile } from './helpers.ts';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const nodes = (t: LineageNode): LineageNode[] => [t, ...(t.inputs ?? []).flatMap(nodes)];

async function keysOf(lake: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of lake.list({ prefix, recursive: true })) if (e.type === 'object') keys.push(e.key);
  return keys.sort();
}

describe.each(['fs', 's3'] as const)('pipeline lineage on %s', (kind) => {
  it('a run and a promotion record every file; a qa file traces to both CSVs and its three models', async () => {
    const { dir, config, lake } = await project(kind, `lineage-${kind}`);
    seedProject(dir);
    expect(await new Pipeline(config, { lake }).run('full')).toBe(true);
    await new DataPromoter(config, { lake }).promote('dev', 'qa');

    const index = await readLineage(lake);
    const written = [
      ...(await keysOf(lake, 'dev/')),
      ...(await keysOf(lake, 'qa/')),
      ...(await keysOf(lake, '_sluice/dev/')),
      ...(await keysOf(lake, '_sluice/qa/')),
    ];
    expect(written.length).toBeGreaterThan(20);
    for (const key of written) expect(index.byOutput.has(outputUrl(lake, key)), key).toBe(true);

    const tree = await lineageOf(outputUrl(lake, 'qa/staging/combined.parquet'), { storage: s3Options() });
    const all = nodes(tree);
    const csvs = all.filter((n) => n.url.endsWith('.csv'));
    expect(new Set(csvs.map((n) => n.url))).toEqual(
      new Set(
        ['sdg', 'wdi'].map((s) => lineageUrl(path.join(dir, `data/raw/${s}/${s.toUpperCase()}_DATA.csv`))),
      ),
    );
    for (const n of csvs) expect(n.sha256).toBe(sha256(n.url.slice('file://'.length)));
    const models = all.filter((n) => n.kind === 'model');
    expect(new Set(models.map((m) => path.basename(m.url)))).toEqual(
      new Set(['combined.sql', 'sdg_clean.sql', 'wdi_clean.sql']),
    );
    for (const m of models) expect(m.sha256).toBe(sha256(m.url.slice('file://'.length)));
    const report = await verifyLineage(lake);
    expect(report.corrupt).toEqual([]);
    expect(new Set(report.outputs.map((o) => o.status))).toEqual(new Set(['ok']));
  });
});

describe('failures abort their intents and leave nothing corrupt', () => {
  it('a CSV refused with E003: its intents are aborted with the error, no landing file', async () => {
    const { dir, config, lake } = await project('fs', 'lineage-refused');
    const csv = writeFile(path.join(dir, 'bad.csv'), 'indicator_id,country_id,year,value\nA,B,twenty,1\n');
    await expect(new DataIngester(config, { lake }).ingestCsv(csv, 'bad', SEED_SCHEMA)).rejects.toMatchObject(
      {
        code: 'E003',
      },
    );
    expect(existsSync(path.join(dir, 'lake/dev/landing/bad/bad.parquet'))).toBe(false);
    const index = await readLineage(lake);
    const write = index.byOutput.get(outputUrl(lake, 'dev/landing/bad/bad.parquet'))?.[0];
    expect(write?.intent.inputs).toEqual([
      { kind: 'file', url: lineageUrl(csv), sha256: sha256(csv), size: readFileSync(csv).length },
    ]);
    expect(write?.aborted).toMatch(/^E003: .*bad\.csv row 2 column year: value "twenty"/);
    const report = await verifyLineage(lake);
    expect(report.corrupt).toEqual([]);
    expect(report.outputs.map((o) => o.status)).toEqual(['never-landed', 'never-landed']);
  });

  it('a model whose publish fails is aborted, and so is what was built from it; the rest is published', async () => {
    const { dir, config, lake } = await project('fs', 'lineage-publish');
    seedProject(dir);
    expect(await new Pipeline(config, { lake }).run('ingest')).toBe(true);
    // The lake refuses one file: a disk error, not a transient one.
    const refusing: Storage = {
      ...lake,
      put: async (key, body, options) => {
        if (key === 'dev/staging/sdg_clean.parquet') throw new Error('EIO: the disk refused sdg_clean');
        return lake.put(key, body, options);
      },
      scope: (prefix) => scopeStorage(refusing, prefix),
    };
    const outcomes = await new Transformer(config, { lake: refusing }).runAll();
    expect(outcomes.map((o) => [o.model, o.status, o.because])).toEqual([
      ['sdg_clean', 'failed', undefined],
      ['wdi_clean', 'ok', undefined],
      ['combined', 'skipped', 'sdg_clean'],
    ]);
    expect(outcomes[0]?.error).toContain(
      'EIO: the disk refused sdg_clean (publishing staging/sdg_clean.parquet)',
    );
    const index = await readLineage(lake);
    const last = (key: string) => index.byOutput.get(outputUrl(lake, key))?.at(-1);
    expect(last('dev/staging/sdg_clean.parquet')?.aborted).toBe('EIO: the disk refused sdg_clean');
    expect(last('_sluice/dev/datasets/staging/sdg_clean.json')?.aborted).toBeDefined();
    expect(last('dev/staging/combined.parquet')?.aborted).toBe('upstream model sdg_clean was not published');
    expect(last('dev/staging/wdi_clean.parquet')?.commit?.sha256).toBe(
      sha256(path.join(dir, 'lake/dev/staging/wdi_clean.parquet')),
    );
    expect(existsSync(path.join(dir, 'lake/dev/staging/combined.parquet'))).toBe(false);
    expect((await verifyLineage(lake)).corrupt).toEqual([]);
  });

  it('a promotion its gates refuse aborts every intent and changes nothing; an edited record is caught', async () => {
    const { dir, config, lake } = await project('fs', 'lineage-gates');
    seedProject(dir);
    expect(await new Pipeline(config, { lake }).run('full')).toBe(true);
    const record = path.join(dir, 'lake/_sluice/dev/datasets/landing/sdg/SDG_DATA.json');
    const edited = JSON.parse(readFileSync(record, 'utf8'));
    edited.rows += 1;
    writeFileSync(record, JSON.stringify(edited, null, 2));
    await expect(new DataPromoter(config, { lake }).promote('dev', 'qa')).rejects.toMatchObject({
      code: 'E005',
    });
    expect(await keysOf(lake, 'qa/')).toEqual([]);
    const run = new Set(['pipeline.ingest', 'pipeline.transform', 'pipeline.run']);
    const promotion = (await readLineage(lake)).writes.filter((w) => !run.has(w.intent.operation));
    expect(promotion.length).toBeGreaterThan(5);
    for (const w of promotion)
      expect(w.aborted, w.intent.output).toMatch(/^E005: Validation failed before promotion/);
    const report = await verifyLineage(lake);
    expect(report.corrupt.map((o) => [o.output, o.status])).toEqual([[lineageUrl(record), 'changed']]);
  });
});

describe('prune and rollback', () => {
  it('removals are recorded before the files go (deleted, not missing); a rollback names the backup it restored', async () => {
    const { dir, config, lake } = await project('fs', 'lineage-prune');
    seedProject(dir);
    const pipeline = new Pipeline(config, { lake });
    const promoter = new DataPromoter(config, { lake });
    for (const rows of [10, 20, 30]) {
      writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(rows));
      expect(await pipeline.run('full')).toBe(true);
      await promoter.promote('dev', 'qa');
    }
    const rb = await promoter.rollback('qa');
    const manifest = await lineageOf(path.join(dir, 'lake/_sluice/qa/manifest.json'));
    expect(manifest).toMatchObject({ operation: 'pipeline.rollback', run: rb.backupOfCurrent });
    expect(manifest.inputs).toEqual([
      expect.objectContaining({
        kind: 'version',
        url: lineageUrl(path.join(dir, `lake/_sluice/qa/backups/${rb.restored}.json`)),
        sha256: sha256(path.join(dir, `lake/_sluice/qa/backups/${rb.restored}.json`)),
      }),
    ]);
    const pruned = await promoter.prune('qa', { keepBackups: 1, minAgeMs: 0 });
    expect(pruned.deletedFiles.length).toBeGreaterThan(0);
    const report = await verifyLineage(lake);
    expect(report.corrupt).toEqual([]);
    const status = new Map(report.outputs.map((o) => [o.output, o.status]));
    for (const key of [...pruned.deletedFiles, ...pruned.deletedBackups])
      expect(status.get(outputUrl(lake, `_sluice/qa/${key}`)), key).toBe('deleted');
  });
});

describe('the lineage switch', () => {
  it('is on by default, off from the file or SLUICE_LINEAGE, and a value that is not on/off is E001', () => {
    const dir = tempDir('lineage-switch');
    expect(Config.load({ env: {} }).lineage).toBe(true);
    for (const off of ['0', 'false', 'OFF', 'no'])
      expect(Config.load({ env: { SLUICE_LINEAGE: off } }).lineage).toBe(false);
    const file = writeFile(path.join(dir, 'sluice.config.yaml'), 'lineage: false\n');
    expect(Config.load({ file, env: {} }).lineage).toBe(false);
    expect(Config.load({ file, env: { SLUICE_LINEAGE: 'on' } }).lineage).toBe(true);
    expect(() => Config.load({ env: { SLUICE_LINEAGE: 'sometimes' } })).toThrow(
      /E001|lineage \(from \$SLUICE_LINEAGE\): must be true or false/,
    );
  });
});
